/**
 * `surrogate seal` at a real terminal: the API key is typed or pasted without echo, so it is not
 * left on the screen, in the scroll-back or in a recording of the session.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { writeKeySetsToDir } from "../../src/core/keys/files.ts";
import { loadKeySets } from "../../src/core/keys/load.ts";
import { openWrapper } from "../../src/core/token/open.ts";
import { verifyWrapper } from "../../src/core/token/verify.ts";
import { atTerminal } from "../helpers/terminal.ts";
import { type PkiFiles, writePkiFiles } from "../unit/cli/agent-fixture.ts";

const ISSUER = "https://broker.example.com";
const API_KEY = "sk-live-typed-0123456789abcdef";
const PROMPT = "API key (not shown; paste it, then press Enter): ";

let files: PkiFiles;
let signing: string;
let encryption: string;

beforeAll(async () => {
  files = await writePkiFiles();
  const written = await writeKeySetsToDir(join(files.dir, "keys"));
  signing = `file:${written.signingPath}`;
  encryption = `file:${written.encryptionPath}`;
});
afterAll(() => files.cleanup());

function sealAtTerminal(answer: string) {
  const args = ["seal", "--provider", "openai", "--cert", files.alphaCert];
  return atTerminal(
    [...args, "--signing", signing, "--encryption", encryption, "--issuer", ISSUER],
    [{ prompt: PROMPT, answer }],
  );
}

test("the key typed at the prompt is not echoed, and the wrapper printed opens to it", async () => {
  const { screen, code } = await sealAtTerminal(API_KEY);
  expect(code).toBe(0);
  expect(screen).toContain(PROMPT);
  expect(screen).not.toContain(API_KEY);
  const wrapper = screen.split(/\r?\n/).find((line) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(line));
  expect(wrapper).toBeDefined();
  const keys = await loadKeySets({ signing, encryption }, {});
  const verified = await verifyWrapper(wrapper ?? "", "access", keys, { issuer: ISSUER, now: Date.now() });
  expect((await openWrapper(verified, keys)).token.reveal()).toBe(API_KEY);
});

test("an empty line at the prompt: exit 1, nothing printed but the refusal", async () => {
  const { screen, code } = await sealAtTerminal("");
  expect(code).toBe(1);
  expect(screen).toContain("empty");
  expect(screen).not.toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/m);
});
