/**
 * Routing, framing and redirect attacks written as raw bytes over a real mTLS socket to the real
 * agent server and proxy handler, with a valid wrapper: only the target or framing is hostile. A
 * refusal is exact (status and code, or the HTTP parser's bare 400 when the bytes never form a
 * request), nothing is dialled, and the real token appears nowhere. Every case runs on both paths
 * (harness.ts MODES): with the wrapper cached, relay mode must serve what passes on the byte relay
 * and leave every refusal to the handler, with the same status, code and dials.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AgentServer } from "../../src/agent-port/server.ts";
import {
  ALLOWED_DNS,
  expectNoLeak,
  expectNoUpstreamContact,
  MODES,
  type Mode,
  pathSince,
  REAL,
  type Rig,
  rawBody,
  rawCode,
  rawExchange,
  refused,
  served,
  snapshot,
  startAgent,
  startRig,
  WILDCARD_SUFFIX,
  warm,
  wrapperFor,
} from "./harness.ts";

/** null: refused by the HTTP parser before any handler ran (bare 400, no problem body). */
type Code = string | null;

const BAD: [number, Code] = [400, "bad_target"];
const NOT_ALLOWED: [number, Code] = [403, "host_not_allowed"];
const PARSER: [number, Code] = [400, null];
/** node:http hands CONNECT to a "connect" listener; with none, the socket is closed unanswered. */
const CLOSED: [number, Code] = [0, null];

for (const mode of MODES) describe(`${mode} path`, () => suite(mode));

function suite(mode: Mode): void {
  let rig: Rig;
  let agent: AgentServer;
  let token: string;

  beforeAll(async () => {
    rig = await startRig(mode);
    agent = await startAgent(rig);
    token = await wrapperFor(rig, rig.pki.alpha);
    await warm(rig, token);
  });

  afterAll(async () => {
    await agent.close();
    await rig.stop();
  });

  function send(bytes: string) {
    return rawExchange(
      agent.port,
      rig.pki.ca.certPem,
      { certPem: rig.pki.alpha.certPem, keyPem: rig.pki.alpha.keyPem },
      bytes,
    );
  }

  function get(target: string, extra = "", method = "GET"): string {
    return `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n${extra}Connection: close\r\n\r\n`;
  }

  async function expectRawRefusal(bytes: string, status: number, code: Code): Promise<void> {
    const before = snapshot(rig);
    const path = { ...rig.path };
    const result = await send(bytes);
    expect({ status: result.status, code: rawCode(result.raw) }).toEqual({ status, code });
    expect(pathSince(rig, path)).toBe(code === null ? "none" : refused(rig));
    expectNoUpstreamContact(rig, before);
    expectNoLeak(rig, [result.raw], [token]);
  }

  const U = () => `127.0.0.1:${rig.upstream.port}`;
  describe("host tricks in the request target", () => {
    const cases: Array<[string, () => string, number, Code]> = [
      ["userinfo: allowed@other", () => `/${ALLOWED_DNS}@evil.test/x`, ...BAD],
      ["userinfo: other@allowed", () => `/evil.test@${U()}/x`, ...BAD],
      ["backslash before @", () => `/${ALLOWED_DNS}\\@evil.test/x`, ...BAD],
      ["backslash as a separator", () => `/evil.test\\${ALLOWED_DNS}/x`, ...BAD],
      ["%2F in the host segment", () => `/evil.test%2F${ALLOWED_DNS}/x`, ...BAD],
      ["%5C in the host segment", () => `/evil.test%5C${ALLOWED_DNS}/x`, ...BAD],
      ["percent-encoded host letters", () => `/%61pi.allowed.test/x`, ...BAD],
      ["dot-segment climbing to another host", () => `/${ALLOWED_DNS}/../evil.test/x`, ...BAD],
      ["encoded dot-segment %2e%2e", () => `/${ALLOWED_DNS}/%2e%2e/x`, ...BAD],
      ["double-encoded dot-segment %252e%252e", () => `/${ALLOWED_DNS}/%252e%252e/x`, ...BAD],
      ["..%2f in the path", () => `/${ALLOWED_DNS}/..%2fadmin`, ...BAD],
      // RFC 3986 §4.2: a network-path reference to URL parsers. fetch sent `/evil.test/x` while the
      // relay sent `//evil.test/x` as written, and an upstream resolving it reads host evil.test.
      ["path starting with // after the host", () => `/${U()}//evil.test/x`, ...BAD],
      ["path starting with // before a query", () => `/${U()}//?x=1`, ...BAD],
      ["fragment before @", () => `/${ALLOWED_DNS}#@evil.test/x`, ...BAD],
      ["semicolon in the host", () => `/${ALLOWED_DNS};evil.test/x`, ...BAD],
      ["trailing dot", () => `/${ALLOWED_DNS}./x`, ...BAD],
      ["empty host (//)", () => `//evil.test/x`, ...BAD],
      ["wildcard text as host", () => `/*.${WILDCARD_SUFFIX}/x`, ...BAD],
      ["host longer than 253", () => `/${"a.".repeat(130)}test/x`, ...BAD],
      ["port 0", () => `/${ALLOWED_DNS}:0/x`, ...BAD],
      ["port 65536", () => `/${ALLOWED_DNS}:65536/x`, ...BAD],
      ["port with a leading zero", () => `/${ALLOWED_DNS}:0443/x`, ...BAD],
      ["port with a sign", () => `/${ALLOWED_DNS}:+443/x`, ...BAD],
      ["two ports", () => `/${ALLOWED_DNS}:443:443/x`, ...BAD],
      ["allowed host, other port", () => `/${ALLOWED_DNS}:8443/x`, ...NOT_ALLOWED],
      ["allowed IP, other port", () => `/127.0.0.1:${rig.second.port}/x`, ...NOT_ALLOWED],
      ["allowed.test.evil (suffix appended)", () => `/${ALLOWED_DNS}.evil.test/x`, ...NOT_ALLOWED],
      ["evil-allowed (prefix glued on)", () => `/evil-${ALLOWED_DNS}/x`, ...NOT_ALLOWED],
      ["wildcard apex is not a sub-domain", () => `/${WILDCARD_SUFFIX}/x`, ...NOT_ALLOWED],
      ["wildcard suffix glued on", () => `/evil${WILDCARD_SUFFIX}/x`, ...NOT_ALLOWED],
      ["punycode homograph (xn--)", () => `/xn--pi-7kc.allowed.test/x`, ...NOT_ALLOWED],
      ["IDN homograph, raw UTF-8 (Cyrillic а)", () => `/\xd0\xb0pi.allowed.test/x`, ...PARSER],
      ["full-width dots (U+FF0E)", () => `/api\xef\xbc\x8eallowed\xef\xbc\x8etest/x`, ...PARSER],
      ["ideographic full stop (U+3002)", () => `/api\xe3\x80\x82allowed.test/x`, ...PARSER],
      ["127.1", () => `/127.1:${rig.upstream.port}/x`, ...BAD],
      ["0x7f.1", () => `/0x7f.1:${rig.upstream.port}/x`, ...BAD],
      ["0177.0.0.1", () => `/0177.0.0.1:${rig.upstream.port}/x`, ...BAD],
      ["127.0.0.01", () => `/127.0.0.01:${rig.upstream.port}/x`, ...BAD],
      ["2130706433", () => `/2130706433:${rig.upstream.port}/x`, ...BAD],
      ["0x7f000001", () => `/0x7f000001:${rig.upstream.port}/x`, ...BAD],
      ["[::ffff:7f00:1]", () => `/[::ffff:7f00:1]:${rig.upstream.port}/x`, ...BAD],
      ["[::1]", () => `/[::1]:${rig.upstream.port}/x`, ...BAD],
      [
        "169.254.169.254 (even with a rule naming it)",
        () => `/169.254.169.254/latest/meta-data/`,
        ...NOT_ALLOWED,
      ],
      [
        "metadata.google.internal (even with a rule naming it)",
        () => `/metadata.google.internal/computeMetadata/v1/`,
        ...NOT_ALLOWED,
      ],
      ["169.254.170.2 (ECS credentials)", () => `/169.254.170.2/v2/credentials`, ...NOT_ALLOWED],
      ["localhost is not 127.0.0.1", () => `/localhost:${rig.upstream.port}/x`, ...NOT_ALLOWED],
      ["v1 is the broker, never a host", () => `/v1/token`, ...BAD],
      ["tab in the host", () => `/${ALLOWED_DNS}\tevil.test/x`, ...PARSER],
      ["NUL in the target", () => `/${ALLOWED_DNS}\x00.evil.test/x`, ...PARSER],
    ];
    for (const [name, target, status, code] of cases) {
      test(`${name} → ${status} ${code ?? "(parser)"}`, async () => {
        await expectRawRefusal(get(target()), status, code);
      });
    }

    test("CR / LF inside the target never form a request", async () => {
      await expectRawRefusal(get(`/${ALLOWED_DNS}\r/x`), ...PARSER);
      // A bare LF ends the request line early: what is left must not become a proxied request either.
      const before = snapshot(rig);
      const result = await send(get(`/${ALLOWED_DNS}\n/x`));
      expect(result.status).toBe(400);
      expectNoUpstreamContact(rig, before);
    });

    test("upper case is the same host: the dialled URL is the lower-case, allowed one", async () => {
      const before = rig.dials.length;
      const path = { ...rig.path };
      const result = await send(get(`/API.Allowed.TEST/x?q=1`));
      expect({ status: result.status, code: rawCode(result.raw) }).toEqual({
        status: 502,
        code: "upstream_unreachable",
      });
      expect(pathSince(rig, path)).toBe(served(rig));
      expect(rig.dials.slice(before)).toEqual([`https://${ALLOWED_DNS}:443/x?q=1`]);
    });

    test("a wildcard sub-domain is dialled as written (control)", async () => {
      const before = rig.dials.length;
      const path = { ...rig.path };
      await send(get(`/a.b.${WILDCARD_SUFFIX}/x`));
      expect(pathSince(rig, path)).toBe(served(rig));
      expect(rig.dials.slice(before)).toEqual([`https://a.b.${WILDCARD_SUFFIX}:443/x`]);
    });
  });

  describe("request lines and framing written by hand", () => {
    const body = (headers: string, payload: string, target = `/${U()}/user`) =>
      `POST ${target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n${headers}Connection: close\r\n\r\n${payload}`;
    const cases: Array<[string, () => string, number, Code]> = [
      ["absolute-form http://", () => get(`http://${U()}/user`), ...BAD],
      ["absolute-form https:// to an allowed host", () => get(`https://${ALLOWED_DNS}/user`), ...BAD],
      ["asterisk-form", () => get("*", "", "OPTIONS"), ...BAD],
      ["CONNECT authority-form", () => get(U(), "", "CONNECT"), ...CLOSED],
      ["CONNECT with an origin-form target", () => get(`/${U()}/user`, "", "CONNECT"), ...CLOSED],
      ["TRACE", () => get(`/${U()}/user`, "", "TRACE"), 400, "invalid_request"],
      [
        "duplicate Host (RFC 9112 §3.2)",
        () => get(`/${U()}/user`, "Host: evil.test\r\n"),
        400,
        "invalid_request",
      ],
      [
        "two Authorization headers",
        () => get(`/${U()}/user`, `Authorization: Bearer ${token}\r\n`),
        400,
        "invalid_request",
      ],
      [
        "Content-Length with Transfer-Encoding: chunked",
        () => body("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
        ...PARSER,
      ],
      [
        "TE: gzip, chunked with Content-Length",
        () => body("Content-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"),
        ...PARSER,
      ],
      [
        "two different Content-Length headers",
        () => body("Content-Length: 1\r\nContent-Length: 2\r\n", "ab"),
        ...PARSER,
      ],
      ["Content-Length list with different values", () => body("Content-Length: 1, 2\r\n", "ab"), ...PARSER],
      ["Content-Length not a number", () => body("Content-Length: 0x10\r\n", "ab"), ...PARSER],
      ["CR inside a header value", () => get(`/${U()}/user`, "X-Note: a\rX-Injected: 1\r\n"), ...PARSER],
      ["NUL inside a header value", () => get(`/${U()}/user`, "X-Note: a\x00b\r\n"), ...PARSER],
      ["space before the colon", () => get(`/${U()}/user`, "X-Note : a\r\n"), ...PARSER],
      ["obs-fold continuation line", () => get(`/${U()}/user`, "X-Note: a\r\n b\r\n"), ...PARSER],
    ];
    for (const [name, bytes, status, code] of cases) {
      test(`${name} → ${status} ${code ?? "(parser)"}`, async () => {
        await expectRawRefusal(bytes(), status, code);
      });
    }

    test("bad chunk framing: the upstream never receives a complete request", async () => {
      const before = rig.upstream.requests.length;
      const path = { ...rig.path };
      const result = await send(body("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"));
      expect(result.status === 0 || result.status >= 400).toBe(true);
      expect(pathSince(rig, path)).toBe(served(rig));
      const seen = rig.upstream.requests.slice(before);
      expect(seen.every((r) => r.bodySize === 0)).toBe(true);
      expectNoLeak(rig, [result.raw], [token]);
    });

    test("a single client Host never reaches the upstream: the target decides it", async () => {
      const before = rig.upstream.requests.length;
      const path = { ...rig.path };
      const result = await send(get(`/${U()}/user`).replace("Host: localhost", "Host: evil.test"));
      expect(result.status).toBe(200);
      expect(pathSince(rig, path)).toBe(served(rig));
      expect(rig.upstream.requests[before]?.headers.get("host")).toBe(U());
    });

    for (const named of ["authorization", "Authorization, keep-alive", "x-api-key"]) {
      test(`Connection: ${named} cannot remove the injected header`, async () => {
        const before = rig.upstream.requests.length;
        const path = { ...rig.path };
        const result = await send(get(`/${U()}/user`, `Connection: ${named}\r\n`));
        expect(result.status).toBe(200);
        expect(pathSince(rig, path)).toBe(served(rig));
        expect(rig.upstream.requests[before]?.headers.get("authorization")).toBe(`Bearer ${REAL}`);
      });
    }

    test("a pipelined second request after a zero-length body is checked on its own", async () => {
      const second = get(`/127.1:${rig.upstream.port}/x`);
      const before = rig.upstream.requests.length;
      const path = { ...rig.path };
      const result = await send(body("Content-Length: 0\r\n", second).replace("Connection: close\r\n", ""));
      expect(result.raw).toContain("HTTP/1.1 400");
      // The first served (by the relay in relay mode), the second refused by the handler.
      const relay = rig.mode === "relay";
      expect({
        handled: rig.path.handled - path.handled,
        offered: rig.path.offered - path.offered,
        took: rig.path.took - path.took,
      }).toEqual(relay ? { handled: 1, offered: 2, took: 1 } : { handled: 2, offered: 0, took: 0 });
      expect(rig.upstream.requests.slice(before).map((r) => r.path)).toEqual(["/user"]);
    });
  });

  describe("upstream redirects are returned, never followed", () => {
    for (const status of [300, 301, 302, 303, 304, 305, 306, 307, 308]) {
      test(`${status} from the upstream reaches the agent as ${status}; the Location host sees nothing`, async () => {
        const before = snapshot(rig);
        const path = { ...rig.path };
        const result = await send(get(`/${U()}/status/${status}`));
        expect(result.status).toBe(status);
        expect(pathSince(rig, path)).toBe(served(rig));
        expect(result.raw).toContain(`location: ${rig.second.origin}/landed`);
        expect(rig.second.requests.length).toBe(before.second);
        expect(rig.dials.slice(before.dials)).toEqual([`http://${U()}/status/${status}`]);
        expect(rawBody(result.raw)).not.toContain(REAL);
        expectNoLeak(rig, [result.raw], [token]);
      });
    }
  });
}
