/**
 * A keep-alive agent repeating its field lines byte for byte: the agent port parses them once and the
 * relay reuses what it derived from them (src/proxy/relay-fields.ts). What may differ between such
 * requests — the request line, the other field lines, the revocations — must still decide each one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { newRule } from "../../src/core/access/revocation.ts";
import { until } from "../unit/proxy/upstream/harness.ts";
import { type Parsed, parseAll, REAL, type RelayRig, startRelayRig } from "./relay-rig.ts";

let rig: RelayRig;

beforeAll(async () => {
  rig = await startRelayRig();
});

afterAll(async () => {
  await rig.stop();
});

/** One request at a time on one connection, each answered before the next is sent. */
async function inTurn(requests: string[]): Promise<Parsed[]> {
  const { socket, received } = await rig.session();
  let answers: Parsed[] = [];
  for (const [index, request] of requests.entries()) {
    socket.write(request);
    await until(() => {
      answers = parseAll(received());
      return answers.length > index;
    });
  }
  socket.destroy();
  return answers;
}

describe("repeated field lines on one connection", () => {
  test("each request still goes where its own request line says, with the credential injected", async () => {
    const before = rig.relayed;
    const seen = rig.upstream.requests.length;
    const port = rig.upstream.port;
    const fields = `host: proxy\r\nauthorization: Bearer ${rig.wrapper}\r\nx-agent: a\r\n\r\n`;
    const answers = await inTurn([
      `GET /127.0.0.1:${port}/one?page=1 HTTP/1.1\r\n${fields}`,
      `DELETE /127.0.0.1:${port}/two HTTP/1.1\r\n${fields}`,
      `GET /127.0.0.1:${port}/three HTTP/1.1\r\n${fields}`,
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(rig.relayed).toBe(before + 3);
    const received = rig.upstream.requests.slice(seen);
    expect(received.map((request) => `${request.method} ${request.target}`)).toEqual([
      "GET /one?page=1",
      "DELETE /two",
      "GET /three",
    ]);
    for (const request of received) {
      const field = (name: string) => request.fields.filter(([n]) => n === name).map(([, v]) => v);
      expect(field("authorization")).toEqual([`Bearer ${REAL}`]);
      expect(field("x-agent")).toEqual(["a"]);
      expect(field("accept-encoding")).toEqual(["identity"]);
      expect(field("host")).toEqual([`127.0.0.1:${port}`]);
    }
  });

  test("one target asked with other methods, and with a body, goes upstream as asked each time", async () => {
    const seen = rig.upstream.requests.length;
    const port = rig.upstream.port;
    const fields = `host: proxy\r\nauthorization: Bearer ${rig.wrapper}\r\n`;
    const line = (method: string) => `${method} /127.0.0.1:${port}/same HTTP/1.1\r\n`;
    const answers = await inTurn([
      `${line("GET")}${fields}\r\n`,
      `${line("DELETE")}${fields}\r\n`,
      `${line("POST")}${fields}content-length: 4\r\n\r\nbody`,
      `${line("GET")}${fields}\r\n`,
      `${line("OPTIONS")}${fields}\r\n`,
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    const received = rig.upstream.requests.slice(seen);
    expect(received.map((request) => `${request.method} ${request.target} ${request.body}`)).toEqual([
      "GET /same ",
      "DELETE /same ",
      "POST /same body",
      "GET /same ",
      "OPTIONS /same ",
    ]);
    expect(received.map((request) => request.framing)).toEqual(["none", "none", "length", "none", "none"]);
  });

  test("a field line that changes between two requests reaches the upstream changed", async () => {
    const seen = rig.upstream.requests.length;
    await inTurn([
      rig.get("/a", "x-step: 1\r\n"),
      rig.get("/b", "x-step: 2\r\n"),
      rig.get("/c", "x-step: 2\r\n"),
    ]);
    const steps = rig.upstream.requests
      .slice(seen)
      .map((request) => request.fields.find(([n]) => n === "x-step")?.[1]);
    expect(steps).toEqual(["1", "2", "2"]);
  });

  test("a revocation between two identical requests refuses the second (401 invalid_token)", async () => {
    const { socket, received } = await rig.session();
    let answers: Parsed[] = [];
    socket.write(rig.get("/before"));
    await until(() => {
      answers = parseAll(received());
      return answers.length > 0;
    });
    const seen = rig.upstream.requests.length;
    const rule = newRule({ provider: "corp" }, "test", Date.now());
    rig.revocations.add(rule, Date.now());
    socket.write(rig.get("/before"));
    await until(() => {
      answers = parseAll(received());
      return answers.length > 1;
    });
    socket.destroy();
    expect(answers[0]?.status).toBe(200);
    expect(answers[1]?.status).toBe(401);
    expect(JSON.parse(answers[1]?.body.toString() ?? "{}").code).toBe("invalid_token");
    expect(rig.upstream.requests.length).toBe(seen);
  });
});
