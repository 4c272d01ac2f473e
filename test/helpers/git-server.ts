/**
 * A git smart-HTTP server for tests: `git http-backend` (CGI) behind a local TLS server that
 * requires one HTTP Basic credential, as GitHub requires `x-access-token:<token>`. Requests without
 * it get 401 and never reach the backend.
 */
import { mkdir } from "node:fs/promises";

export interface GitServer {
  port: number;
  /** Authorization values of every request, in order (for "the upstream saw the real token"). */
  authorizations: Array<string | null>;
  refused: number;
  stop(): Promise<void>;
}

export interface GitServerOptions {
  root: string;
  tls: { certPem: string; keyPem: string };
  user: string;
  password: string;
}

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  await mkdir(options.root, { recursive: true });
  const expected = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString("base64")}`;
  const authorizations: Array<string | null> = [];
  let refused = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: options.tls.certPem, key: options.tls.keyPem },
    async fetch(request) {
      const authorization = request.headers.get("authorization");
      authorizations.push(authorization);
      if (authorization !== expected) {
        refused += 1;
        return new Response("credentials required\n", {
          status: 401,
          headers: { "www-authenticate": 'Basic realm="git"' },
        });
      }
      return cgi(request, options.root);
    },
  });
  return {
    port: server.port ?? 0,
    authorizations,
    get refused() {
      return refused;
    },
    stop: () => server.stop(true),
  };
}

/** RFC 3875: the request as CGI variables and stdin; the script's header block becomes the response. */
async function cgi(request: Request, root: string): Promise<Response> {
  const url = new URL(request.url);
  const body = new Uint8Array(await request.arrayBuffer());
  const child = Bun.spawn(["git", "http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      REMOTE_USER: "tester",
      REQUEST_METHOD: request.method,
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: request.headers.get("content-type") ?? "",
      CONTENT_LENGTH: String(body.byteLength),
      HTTP_CONTENT_ENCODING: request.headers.get("content-encoding") ?? "",
      GIT_PROTOCOL: request.headers.get("git-protocol") ?? "",
    },
    stdin: body,
    stdout: "pipe",
    stderr: "ignore",
  });
  const output = new Uint8Array(await new Response(child.stdout).arrayBuffer());
  await child.exited;
  const split = indexOfBlankLine(output);
  const head = new TextDecoder().decode(output.subarray(0, split.at));
  const headers = new Headers();
  let status = 200;
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
    else headers.append(name, value);
  }
  return new Response(output.subarray(split.at + split.length), { status, headers });
}

function indexOfBlankLine(bytes: Uint8Array): { at: number; length: number } {
  for (let i = 0; i + 1 < bytes.length; i += 1) {
    if (bytes[i] === 10 && bytes[i + 1] === 10) return { at: i, length: 2 };
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10)
      return { at: i, length: 4 };
  }
  return { at: bytes.length, length: 0 };
}
