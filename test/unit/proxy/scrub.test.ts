import { describe, expect, test } from "bun:test";
import { Secret } from "../../../src/core/secret.ts";
import { maskOf, Scrubber, scrubStream, scrubText } from "../../../src/proxy/scrub.ts";
import { leakPatterns, leakPatternsOf } from "../../../src/proxy/scrub-patterns.ts";

/** Contains `/`, `+` and `=` so every derived spelling differs from the raw token. */
const TOKEN = "gho_R3al/T0ken+With=Specials_0123456789abcdef";
const PATTERNS = leakPatterns(TOKEN);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** Runs `chunks` through one Scrubber and returns the joined output plus each push's output. */
function run(chunks: Uint8Array[], patterns = PATTERNS): { out: string; pushed: Uint8Array[] } {
  const scrubber = new Scrubber(patterns);
  const pushed = chunks.map((chunk) => scrubber.push(chunk));
  return { out: decoder.decode(concat([...pushed, scrubber.flush()])), pushed };
}

function splitAt(text: string, ...offsets: number[]): Uint8Array[] {
  const all = bytes(text);
  const cuts = [0, ...offsets, all.length];
  return cuts.slice(1).map((end, i) => all.subarray(cuts[i], end));
}

const MASK = decoder.decode(maskOf(TOKEN.length));

describe("maskOf", () => {
  test("same length as what it hides, [redacted] when it fits", () => {
    expect(decoder.decode(maskOf(12))).toBe("[redacted]**");
    expect(decoder.decode(maskOf(10))).toBe("[redacted]");
    expect(decoder.decode(maskOf(4))).toBe("****");
    expect(MASK).toHaveLength(TOKEN.length);
  });
});

describe("leakPatterns", () => {
  const texts = PATTERNS.map((p) => decoder.decode(p));

  test("the raw token, JSON-escaped, percent-encoded in both hex cases", () => {
    expect(texts).toContain(TOKEN);
    expect(texts).toContain(TOKEN.replaceAll("/", "\\/"));
    expect(texts).toContain(encodeURIComponent(TOKEN));
    expect(texts).toContain(
      encodeURIComponent(TOKEN).replace(/%2F/g, "%2f").replace(/%2B/g, "%2b").replace(/%3D/g, "%3d"),
    );
    expect(new Set(texts).size).toBe(texts.length);
  });

  test("base64 and base64url of the token at any position contain one of the patterns", () => {
    for (let prefix = 0; prefix < 6; prefix += 1) {
      for (const suffix of ["", "x", "xy", "\r\n"]) {
        const plain = Buffer.from(`${"u:".repeat(prefix).slice(0, prefix)}${TOKEN}${suffix}`);
        for (const encoded of [plain.toString("base64"), plain.toString("base64url")]) {
          expect(texts.some((p) => encoded.includes(p))).toBe(true);
        }
      }
    }
  });

  test("a token without specials: no duplicate spellings; short derived spellings are skipped", () => {
    const plain = leakPatterns("abcdefghijklmnopqrstuvwx").map((p) => decoder.decode(p));
    expect(plain.filter((p) => p === "abcdefghijklmnopqrstuvwx")).toHaveLength(1);
    const tiny = leakPatterns("abc").map((p) => decoder.decode(p));
    expect(tiny).toEqual(["abc"]);
  });

  test("cached per Secret object", () => {
    const secret = new Secret(TOKEN);
    expect(leakPatternsOf(secret)).toBe(leakPatternsOf(secret));
  });
});

describe("Scrubber", () => {
  const body = `{"headers":{"Authorization":"Bearer ${TOKEN}"},"again":"${TOKEN}${TOKEN}"}`;
  const expected = body.replaceAll(TOKEN, MASK);

  test("one chunk: every occurrence masked, length unchanged", () => {
    const { out } = run([bytes(body)]);
    expect(out).toBe(expected);
    expect(out).toHaveLength(body.length);
  });

  test("split in two at every offset", () => {
    for (let cut = 0; cut <= body.length; cut += 1) expect(run(splitAt(body, cut)).out).toBe(expected);
  });

  test("split in three at every pair of offsets around the first token", () => {
    const start = body.indexOf(TOKEN);
    for (let a = start - 2; a <= start + TOKEN.length; a += 1) {
      for (let b = a; b <= start + TOKEN.length + 2; b += 1)
        expect(run(splitAt(body, a, b)).out).toBe(expected);
    }
  });

  test("one byte at a time", () => {
    const chunks = [...bytes(body)].map((b) => Uint8Array.of(b));
    expect(run(chunks).out).toBe(expected);
  });

  test("every derived spelling is masked, also across a chunk boundary", () => {
    for (const pattern of PATTERNS) {
      const text = `<<${decoder.decode(pattern)}>>`;
      for (let cut = 0; cut <= text.length; cut += 1) {
        const { out } = run(splitAt(text, cut));
        expect(out).toHaveLength(text.length);
        expect(out).not.toContain(decoder.decode(pattern));
      }
    }
  });

  test("a base64-encoded echo of the header no longer decodes to the token", () => {
    const echoed = Buffer.from(`Authorization: Bearer ${TOKEN}\r\n`).toString("base64");
    const { out } = run([bytes(`{"raw":"${echoed}"}`)]);
    const decoded = Buffer.from(out.slice(8, -2).replace(/[^A-Za-z0-9+/]/g, "A"), "base64").toString(
      "latin1",
    );
    expect(decoded).not.toContain(TOKEN);
    expect(decoded).not.toContain(TOKEN.slice(4, 30));
  });

  test("bytes that cannot begin the token are not held back (server-sent events flow)", () => {
    const scrubber = new Scrubber(PATTERNS);
    const event = bytes('data: {"n":1}\n\n');
    expect(scrubber.push(event)).toEqual(event);
    expect(scrubber.flush()).toHaveLength(0);
  });

  test("a possible start of the token is held back until the next chunk decides", () => {
    const scrubber = new Scrubber(PATTERNS);
    expect(decoder.decode(scrubber.push(bytes(`ok ${TOKEN.slice(0, 9)}`)))).toBe("ok ");
    expect(decoder.decode(scrubber.push(bytes("!")))).toBe(`${TOKEN.slice(0, 9)}!`);
    const second = new Scrubber(PATTERNS);
    second.push(bytes(TOKEN.slice(0, 20)));
    expect(decoder.decode(second.flush())).toBe(TOKEN.slice(0, 20));
  });

  test("constant memory: never more than the longest pattern minus one byte held", () => {
    const longest = Math.max(...PATTERNS.map((p) => p.length));
    const scrubber = new Scrubber(PATTERNS);
    let input = 0;
    let output = 0;
    for (let i = 0; i < 2000; i += 1) {
      // Every chunk ends in the longest possible prefix of a pattern.
      const chunk = bytes(
        `${"z".repeat(i % 50)}${decoder.decode(PATTERNS[0] ?? new Uint8Array()).slice(0, longest - 1)}`,
      );
      input += chunk.length;
      output += scrubber.push(chunk).length;
      expect(input - output).toBeLessThanOrEqual(longest - 1);
    }
  });

  test("the upstream's chunk is not written to", () => {
    const chunk = bytes(`a ${TOKEN} b`);
    const copy = chunk.slice();
    run([chunk]);
    expect(chunk).toEqual(copy);
  });

  test("a body without the token passes through byte for byte", () => {
    const random = crypto.getRandomValues(new Uint8Array(65_536));
    const chunks = [random.subarray(0, 1000), random.subarray(1000, 40_000), random.subarray(40_000)];
    const scrubber = new Scrubber(PATTERNS);
    const out = concat([...chunks.map((c) => scrubber.push(c)), scrubber.flush()]);
    expect(Buffer.compare(out, random)).toBe(0);
  });
});

describe("scrubText", () => {
  test("masks every spelling in a header value", () => {
    expect(scrubText(`Bearer ${TOKEN}, ${encodeURIComponent(TOKEN)}`, PATTERNS)).toBe(
      `Bearer ${MASK}, ${decoder.decode(maskOf(encodeURIComponent(TOKEN).length))}`,
    );
    expect(scrubText("nothing here", PATTERNS)).toBe("nothing here");
  });
});

async function read(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  return stream === null ? "" : new Response(stream).text();
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

describe("scrubStream", () => {
  test("a stream split inside the token comes out masked", async () => {
    const body = `echo: ${TOKEN}.`;
    const out = await read(scrubStream(streamOf(splitAt(body, 10, 11, 30)), PATTERNS));
    expect(out).toBe(`echo: ${MASK}.`);
  });

  test("cancelling the scrubbed stream cancels the source", async () => {
    let cancelled: unknown;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes("x".repeat(100)));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = scrubStream(source, PATTERNS).getReader();
    await reader.read();
    await reader.cancel("agent left");
    expect(cancelled).toBe("agent left");
  });
});
