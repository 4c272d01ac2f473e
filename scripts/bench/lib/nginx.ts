import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * nginx as a user would deploy it in front of an API instead of surrogate: TLS with required client
 * certificates against the same CA, a static Authorization header set on every request, HTTPS to the
 * upstream over a keep-alive pool, upstream certificate verified. Everything it writes (pid, logs,
 * temp files) stays in the bench's temp dir; `user root` because the bench runs as whoever starts it.
 */

export const NGINX = "/usr/sbin/nginx";

/**
 * The http-block directives that keep nginx's temp files in `tmp`: unset, it writes under its
 * compiled-in prefix (/var/lib/nginx), which a test or bench run must not touch.
 */
export function nginxTempPaths(tmp: string): string {
  return `  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;`;
}

export interface NginxFiles {
  dir: string;
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface NginxOptions {
  upstreamPort: number;
  /** The header value nginx injects: the static secret a user would configure. */
  authorization: string;
  workers: number | "auto";
}

export function nginxConfig(files: NginxFiles, options: NginxOptions): string {
  const tmp = join(files.dir, "nginx");
  return `
user root;
daemon off;
master_process on;
worker_processes ${options.workers};
pid ${tmp}/nginx.pid;
error_log ${tmp}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
${nginxTempPaths(tmp)}
  keepalive_requests 1000000;
  upstream api {
    server 127.0.0.1:${options.upstreamPort};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:0 ssl;
    ssl_certificate ${files.certFile};
    ssl_certificate_key ${files.keyFile};
    ssl_client_certificate ${files.caFile};
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass https://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "${options.authorization}";
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${files.caFile};
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_ssl_session_reuse on;
      proxy_buffering on;
    }
  }
}
`;
}

export interface RunningNginx {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Writes the config, starts nginx in the foreground (daemon off) and waits until it listens. */
export async function startNginx(files: NginxFiles, options: NginxOptions): Promise<RunningNginx> {
  const tmp = join(files.dir, "nginx");
  mkdirSync(tmp, { recursive: true });
  const port = await freePort();
  const config = nginxConfig(files, options).replace("127.0.0.1:0", `127.0.0.1:${port}`);
  const configFile = join(tmp, "nginx.conf");
  writeFileSync(configFile, config);
  const child = Bun.spawn([NGINX, "-p", tmp, "-c", configFile, "-e", join(tmp, "error.log")], {
    stdout: "inherit",
    stderr: "inherit",
  });
  await waitForPort(port, child);
  return {
    pid: child.pid,
    port,
    async stop() {
      child.kill("SIGQUIT");
      await child.exited;
    },
  };
}

/** nginx cannot report an ephemeral port back, so one is reserved and released just before. */
async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

async function waitForPort(port: number, child: Bun.Subprocess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`bench: nginx exited with ${child.exitCode}`);
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.end();
      return;
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error("bench: nginx did not start listening");
}
