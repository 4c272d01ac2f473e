/**
 * nginx on loopback as the TLS-terminating load balancer in front of the web port would be
 * configured (docs/operations.md, "Behind a load balancer"): it appends the address it received
 * from to X-Forwarded-For and passes the request on from 127.0.0.1. Everything it writes stays in
 * `dir`. A test that connects to it from 127.0.0.2 and 127.0.0.3 is two different people.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NGINX, nginxTempPaths } from "../../scripts/bench/lib/nginx.ts";
import { freePort } from "./ports.ts";

export interface ReverseProxy {
  port: number;
  stop(): Promise<void>;
}

export async function startReverseProxy(dir: string, upstreamPort: number): Promise<ReverseProxy> {
  const tmp = join(dir, "nginx");
  mkdirSync(tmp, { recursive: true });
  const port = freePort();
  const config = `daemon off;
master_process off;
worker_processes 1;
pid ${tmp}/nginx.pid;
error_log ${tmp}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
${nginxTempPaths(tmp)}
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`;
  const configFile = join(tmp, "nginx.conf");
  writeFileSync(configFile, config);
  const child = Bun.spawn([NGINX, "-p", tmp, "-c", configFile, "-e", join(tmp, "error.log")], {
    stdout: "ignore",
    stderr: "pipe",
  });
  for (let attempt = 0; ; attempt += 1) {
    if (child.exitCode !== null) {
      throw new Error(`nginx exited with ${child.exitCode}: ${await new Response(child.stderr).text()}`);
    }
    const up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (socket) => {
        socket.end();
        return true;
      },
      () => false,
    );
    if (up) break;
    if (attempt > 100) throw new Error("nginx did not start listening");
    await Bun.sleep(50);
  }
  return {
    port,
    async stop() {
      child.kill("SIGQUIT");
      await child.exited;
    },
  };
}
