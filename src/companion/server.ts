/**
 * The companion's listener on loopback (DESIGN §12): a forward proxy for tools that honour
 * HTTPS_PROXY (CONNECT, terminated with a leaf from the in-memory CA for hosts of this agent's
 * providers), absolute-form `http://` requests, and base-URL mode (`/_/<credential>/<host>/<path>`)
 * for clients that only let one set a base URL. Every request needs the proxy credential.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { SurrogateError } from "../core/errors.ts";
import { HOP_BY_HOP } from "../core/http/fields.ts";
import { parseAuthority } from "../core/http/target.ts";
import { isMetadataHost } from "../core/provider/allowlist.ts";
import type { AgentBroker } from "./broker.ts";
import { checkPathCredential, checkProxyAuthorization } from "./credential.ts";
import { bodyStream, forwardToBroker, relay } from "./forward.ts";
import type { LocalCa } from "./local-ca.ts";
import { problemBytes, sendProblem } from "./problem.ts";
import { type CompanionProvider, type Route, routeFor } from "./providers.ts";
import type { WrapperStore } from "./wrappers.ts";

export interface CompanionDeps {
  credential: string;
  providers: readonly CompanionProvider[];
  /** Hosts outside every provider: a blind tunnel (no TLS termination, no token) instead of 403. */
  passthrough: boolean;
  ca: LocalCa;
  broker: AgentBroker;
  wrappers: WrapperStore;
}

export interface CompanionServer {
  port: number;
  close(): Promise<void>;
}

/** What a terminated tunnel was opened for: decided on the CONNECT line, never by the inner Host. */
interface Tunnel {
  route: Route;
  host: string;
  port: number;
}

const CHALLENGE = 'Proxy-Authenticate: Basic realm="surrogate"';
const BASE_PREFIX = /^\/_\/([^/]*)(\/.*)$/;

export async function startCompanionServer(
  deps: CompanionDeps,
  host: string,
  port: number,
): Promise<CompanionServer> {
  const tunnels = new WeakMap<object, Tunnel>();
  const sockets = new Set<Socket>();
  const inner = createServer((request, response) => {
    void serveTunnelled(deps, tunnels.get(request.socket), request, response);
  });
  const own = { port };
  const front = createServer((request, response) => {
    void serveFront(deps, own.port, request, response);
  });
  front.on("connect", (request: IncomingMessage, socket: Socket, head: Buffer) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    void openTunnel(deps, request, socket, head, (tls, tunnel) => {
      tunnels.set(tls, tunnel);
      inner.emit("connection", tls);
    }).catch(() => socket.destroy());
  });
  front.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  front.on("clientError", (_error, socket: Socket) => socket.destroy());
  inner.on("clientError", (_error, socket: Socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(port, host, () => resolve());
  });
  const address = front.address();
  own.port = typeof address === "object" && address !== null ? address.port : port;
  return {
    port: own.port,
    close: () => closeServer(front, sockets),
  };
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}

function authorized(deps: CompanionDeps, request: IncomingMessage): boolean {
  return checkProxyAuthorization(request.headers["proxy-authorization"], deps.credential);
}

function notAnUpstream(deps: CompanionDeps, host: string): string {
  const names = deps.providers.map((provider) => provider.name).join(", ") || "none";
  return `companion: ${host} is not an upstream of any of this agent's providers (${names})`;
}

async function openTunnel(
  deps: CompanionDeps,
  request: IncomingMessage,
  socket: Socket,
  head: Buffer,
  terminate: (tls: TLSSocket, tunnel: Tunnel) => void,
): Promise<void> {
  socket.on("error", () => socket.destroy());
  const refuse = (status: number, reason: string, code: SurrogateError["code"], detail: string, extra = "") =>
    socket.end(problemBytes(status, reason, code, detail, extra));
  if (!authorized(deps, request)) {
    refuse(
      407,
      "Proxy Authentication Required",
      "proxy_auth_required",
      "companion: proxy credential required",
      `${CHALLENGE}\r\n`,
    );
    return;
  }
  let authority: { host: string; port: number | undefined };
  try {
    authority = parseAuthority(request.url ?? "");
  } catch (error) {
    refuse(400, "Bad Request", "bad_target", error instanceof SurrogateError ? error.message : "bad target");
    return;
  }
  const { host } = authority;
  // RFC 9110 §9.3.6: CONNECT names host and port; https is the only scheme a tunnel can carry here.
  const port = authority.port ?? 443;
  const route = routeFor(deps.providers, "https", host, port);
  if (route === undefined) {
    if (deps.passthrough && !isMetadataHost(host)) blindTunnel(socket, head, host, port);
    else refuse(403, "Forbidden", "host_not_allowed", notAnUpstream(deps, host));
    return;
  }
  const context = await deps.ca.contextFor(host);
  socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
  if (head.byteLength > 0) socket.unshift(head);
  const tls = new TLSSocket(socket, { isServer: true, secureContext: context });
  tls.on("error", () => tls.destroy());
  terminate(tls, { route, host, port });
}

/** `--passthrough`: bytes both ways, untouched; the companion sees neither keys nor plaintext. */
function blindTunnel(socket: Socket, head: Buffer, host: string, port: number): void {
  const upstream = connect({ host, port });
  upstream.on("connect", () => {
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.byteLength > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  upstream.on("error", () => {
    if (upstream.connecting)
      socket.end(
        problemBytes(502, "Bad Gateway", "upstream_unreachable", `companion: cannot reach ${host}:${port}`),
      );
    else socket.destroy();
  });
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
}

async function serveTunnelled(
  deps: CompanionDeps,
  tunnel: Tunnel | undefined,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = request.url ?? "";
  if (tunnel === undefined || !path.startsWith("/")) {
    sendProblem(response, 400, "bad_target", "companion: requests in a tunnel use origin-form (/path)");
    return;
  }
  const authority = tunnel.port === 443 ? tunnel.host : `${tunnel.host}:${tunnel.port}`;
  await serveRoute(deps, tunnel.route, `/${authority}${path}`, request, response);
}

async function serveFront(
  deps: CompanionDeps,
  ownPort: number,
  request: IncomingMessage,
  response: ServerResponse,
) {
  const url = viaItself(request.url ?? "", ownPort);
  const base = BASE_PREFIX.exec(url);
  if (base !== null) {
    if (!checkPathCredential(base[1] ?? "", deps.credential)) {
      sendProblem(response, 407, "proxy_auth_required", "companion: the base URL's credential is wrong");
      return;
    }
    await serveBaseUrl(deps, base[2] ?? "/", request, response);
    return;
  }
  if (!authorized(deps, request)) {
    sendProblem(response, 407, "proxy_auth_required", "companion: proxy credential required", {
      "proxy-authenticate": 'Basic realm="surrogate"',
    });
    return;
  }
  if (/^http:\/\//i.test(url)) {
    await serveAbsolute(deps, url, request, response);
    return;
  }
  sendProblem(
    response,
    400,
    "bad_target",
    "companion: use it as a proxy, or as a base URL /_/<credential>/<host>/<path>",
  );
}

/** `/<host>[:port]/<path>`: the upstream's scheme is the one its provider's pattern names. */
async function serveBaseUrl(
  deps: CompanionDeps,
  target: string,
  request: IncomingMessage,
  response: ServerResponse,
) {
  const end = target.slice(1).search(/[/?]/);
  const authorityText = end === -1 ? target.slice(1) : target.slice(1, end + 1);
  const authority = parseOrRefuse(authorityText, response);
  if (authority === undefined) return;
  const route = routeFor(deps.providers, undefined, authority.host, authority.port);
  if (route === undefined) {
    sendProblem(response, 403, "host_not_allowed", notAnUpstream(deps, authority.host));
    return;
  }
  await serveRoute(deps, route, target, request, response);
}

/** RFC 9112 §3.2.2 absolute-form, plain http: only loopback upstreams can be `http://` (DESIGN §7). */
async function serveAbsolute(
  deps: CompanionDeps,
  url: string,
  request: IncomingMessage,
  response: ServerResponse,
) {
  const rest = url.slice("http://".length);
  const end = rest.search(/[/?]/);
  const authority = parseOrRefuse(end === -1 ? rest : rest.slice(0, end), response);
  if (authority === undefined) return;
  const pathAndQuery = end === -1 ? "/" : rest[end] === "?" ? `/${rest.slice(end)}` : rest.slice(end);
  const port = authority.port ?? 80;
  const route = routeFor(deps.providers, "http", authority.host, port);
  if (route !== undefined) {
    await serveRoute(deps, route, `/${authority.host}:${port}${pathAndQuery}`, request, response);
  } else if (deps.passthrough && !isMetadataHost(authority.host)) {
    await plainPassthrough(url, request, response);
  } else {
    sendProblem(response, 403, "host_not_allowed", notAnUpstream(deps, authority.host));
  }
}

/**
 * A client that applies HTTP_PROXY to every URL (Bun's fetch does) sends a base-URL request to
 * the companion through the companion, in absolute form: it is served as if sent directly.
 */
function viaItself(url: string, ownPort: number): string {
  const self = /^http:\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/_\/.*)$/i.exec(url);
  return self !== null && Number(self[1]) === ownPort ? (self[2] ?? url) : url;
}

function parseOrRefuse(text: string, response: ServerResponse) {
  try {
    return parseAuthority(text);
  } catch (error) {
    sendProblem(response, 400, "bad_target", error instanceof SurrogateError ? error.message : "bad target");
    return undefined;
  }
}

async function serveRoute(
  deps: CompanionDeps,
  route: Route,
  target: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const wrapper = await deps.wrappers.get(route.provider.name);
  if ("problem" in wrapper) {
    sendProblem(response, 401, "missing_token", `companion: ${wrapper.problem}`);
    return;
  }
  const connection = await deps.broker.current();
  await forwardToBroker(request, response, {
    target,
    wrapper: wrapper.wrapper,
    connection,
    describeFailure: deps.broker.describeFailure,
  });
}

/** `--passthrough` for plain http: the tool's request as it is, no token added, hop-by-hop fields dropped. */
async function plainPassthrough(url: string, request: IncomingMessage, response: ServerResponse) {
  const headers = new Headers();
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? "").toLowerCase();
    if (!HOP_BY_HOP.has(name) && name !== "proxy-authorization") headers.append(name, raw[i + 1] ?? "");
  }
  const method = request.method ?? "GET";
  try {
    const answer = await fetch(url, {
      method,
      headers,
      ...(method === "GET" || method === "HEAD" ? {} : { body: bodyStream(request), duplex: "half" }),
      redirect: "manual",
      decompress: false,
    } as RequestInit);
    await relay(answer, response);
  } catch {
    sendProblem(response, 502, "upstream_unreachable", "companion: the host could not be reached");
  }
}
