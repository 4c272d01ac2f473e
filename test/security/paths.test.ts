/**
 * The two proxy paths compared on the same requests (issue #16): a rig per mode (harness.ts MODES),
 * the same wrapper cached on both, the same bytes sent. What reaches the upstream and what reaches
 * the agent must match — field sets compared (their order is not a guarantee), the `Date` the proxy
 * adds and the fields fetch adds of its own aside — and the real token must reach the agent on
 * neither, whichever way the upstream hands it back (harness.ts `/leak/KIND`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  MODES,
  pathSince,
  REAL,
  type Rig,
  rawExchange,
  served,
  startAgent,
  startRig,
  warm,
  wrapperFor,
} from "./harness.ts";

const rigs: Rig[] = [];
const tokens = new Map<Rig, string>();

beforeAll(async () => {
  for (const mode of MODES) {
    const rig = await startRig(mode);
    await startAgent(rig);
    const token = await wrapperFor(rig, rig.pki.alpha);
    await warm(rig, token);
    rigs.push(rig);
    tokens.set(rig, token);
  }
});

afterAll(async () => {
  for (const rig of rigs) {
    await rig.agent?.close();
    await rig.stop();
  }
});

/** Sends the same request through each rig; `request` gets the rig's upstream target and wrapper. */
async function onBothPaths(request: (target: string, token: string) => string) {
  const seen = [];
  for (const rig of rigs) {
    const before = rig.upstream.requests.length;
    const path = { ...rig.path };
    const bytes = request(`/127.0.0.1:${rig.upstream.port}`, tokens.get(rig) as string);
    const { raw } = await rawExchange(rig.agent?.port ?? 0, rig.pki.ca.certPem, rig.pki.alpha, bytes);
    expect(pathSince(rig, path)).toBe(served(rig));
    for (const form of [REAL, btoa(REAL)]) expect(raw).not.toContain(form);
    seen.push({
      answer: answerOf(raw, rig),
      upstream: rig.upstream.requests.slice(before).map((r) => upstreamOf(r, rig)),
    });
  }
  return seen;
}

/** Status line, fields as a sorted set without Date, and body; the rig's own ports made equal. */
function answerOf(raw: string, rig: Rig) {
  const text = raw.replaceAll(`127.0.0.1:${rig.second.port}`, "SECOND");
  const end = text.indexOf("\r\n\r\n");
  const [status, ...fields] = text.slice(0, end).split("\r\n");
  return { status, fields: fields.filter((f) => !f.startsWith("date:")).sort(), body: text.slice(end + 4) };
}

/** fetch adds these of its own on the handler path; the relay sends HTTP/1.1's defaults instead. */
const FETCH_DEFAULTS = new Set(["accept", "connection"]);

function upstreamOf(recorded: Rig["upstream"]["requests"][number], rig: Rig) {
  const fields = [...recorded.headers]
    .filter(([name]) => !FETCH_DEFAULTS.has(name))
    .map(([name, value]) => `${name}: ${value.replaceAll(String(rig.upstream.port), "PORT")}`);
  return { method: recorded.method, path: recorded.path, bodySize: recorded.bodySize, fields: fields.sort() };
}

describe("what the upstream hands back reaches the agent the same on both paths, token masked", () => {
  const kinds = ["header", "name", "location", "cookie", "forms", "gzip", "stream"];
  for (const kind of kinds) {
    for (const method of ["GET", "HEAD"]) {
      test(`${method} /leak/${kind}`, async () => {
        const [handler, relay] = await onBothPaths(
          (target, token) =>
            `${method} ${target}/leak/${kind} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: agent/1\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
        );
        expect(relay).toEqual(handler as NonNullable<typeof handler>);
      });
    }
  }
});

describe("what reaches the upstream is the same on both paths", () => {
  const hostile = [
    "Connection: x-hop, keep-alive",
    "X-Hop: 1",
    "Keep-Alive: timeout=5",
    "TE: trailers",
    "Upgrade: websocket",
    "Proxy-Authorization: Basic eHg6eXk=",
    "Proxy-Connection: keep-alive",
    "Trailer: x-t",
    "Accept-Encoding: gzip",
    "Max-Forwards: 0",
    "X-Empty:",
    "x-dup: 1",
    "X-Dup: 2",
  ];
  const requests: Array<[string, (target: string, token: string) => string]> = [
    [
      "hop-by-hop, proxy and repeated fields on a GET",
      (target, token) =>
        `GET ${target}/user?q=%2F HTTP/1.1\r\nHost: localhost\r\nUser-Agent: agent/1\r\nAuthorization: Bearer ${token}\r\n${hostile.join("\r\n")}\r\nConnection: close\r\n\r\n`,
    ],
    [
      "a POST with a Content-Length body",
      (target, token) =>
        `POST ${target}/upload HTTP/1.1\r\nHost: localhost\r\nUser-Agent: agent/1\r\nAuthorization: Bearer ${token}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
    ],
    [
      "a PUT with a chunked body",
      (target, token) =>
        `PUT ${target}/upload HTTP/1.1\r\nHost: localhost\r\nUser-Agent: agent/1\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n`,
    ],
  ];
  for (const [name, request] of requests) {
    test(name, async () => {
      const [handler, relay] = await onBothPaths(request);
      expect(relay?.upstream).toEqual(handler?.upstream as NonNullable<typeof handler>["upstream"]);
      expect(relay?.answer.status).toBe(handler?.answer.status as string);
      expect(relay?.upstream[0]?.fields).toContain(`authorization: Bearer ${REAL}`);
    });
  }
});
