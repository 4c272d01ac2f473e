import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_SECRET_FILE_BYTES, resolveSecretRef } from "../../../../src/core/config/secret-ref.ts";
import { configFailure } from "./failure.ts";

const KEY = "providers.github.client_secret";
let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "surrogate-secret-ref-"));
  await writeFile(join(dir, "secret.txt"), "file-secret-value\n");
  await writeFile(join(dir, "crlf.txt"), "crlf-secret\r\n");
  await writeFile(join(dir, "empty.txt"), "");
  await writeFile(join(dir, "big.txt"), "x".repeat(MAX_SECRET_FILE_BYTES + 1));
  await writeFile(join(dir, "exact.txt"), "y".repeat(MAX_SECRET_FILE_BYTES));
  await writeFile(join(dir, "latin1.txt"), new Uint8Array([0xff, 0xfe, 0x41]));
  await writeFile(join(dir, "github"), "credential-secret-value\n");
  await symlink(join(dir, "secret.txt"), join(dir, "link.txt"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("env: references", () => {
  test("resolves a set variable into a Secret", async () => {
    const secret = await resolveSecretRef("env:GH_SECRET", { GH_SECRET: "env-secret-value" }, KEY);
    expect(secret.reveal()).toBe("env-secret-value");
    expect(String(secret)).toBe("[redacted]");
  });

  test.each([
    ["env:GH_SECRET", {}, `${KEY}: env:GH_SECRET is not set`],
    ["env:GH_SECRET", { GH_SECRET: "" }, `${KEY}: env:GH_SECRET is empty`],
    ["env:", {}, `${KEY}: env: must name an environment variable (env:NAME)`],
    ["env:BAD-NAME", {}, `${KEY}: env: must name an environment variable (env:NAME)`],
  ] as const)("%p with %p is refused", async (ref, env, message) => {
    const error = await configFailure(() => resolveSecretRef(ref, env, KEY));
    expect(error.code).toBe("config_invalid");
    expect(error.message).toBe(message);
  });
});

describe("file: references", () => {
  test("reads an absolute path and strips one final newline", async () => {
    const secret = await resolveSecretRef(`file:${join(dir, "secret.txt")}`, {}, KEY);
    expect(secret.reveal()).toBe("file-secret-value");
    expect((await resolveSecretRef(`file:${join(dir, "crlf.txt")}`, {}, KEY)).reveal()).toBe("crlf-secret");
  });

  test("resolves a relative path against baseDir", async () => {
    const secret = await resolveSecretRef("file:secret.txt", {}, KEY, { baseDir: dir });
    expect(secret.reveal()).toBe("file-secret-value");
  });

  test("follows a symlink to a regular file and accepts exactly the size limit", async () => {
    expect((await resolveSecretRef(`file:${join(dir, "link.txt")}`, {}, KEY)).reveal()).toBe(
      "file-secret-value",
    );
    const exact = await resolveSecretRef(`file:${join(dir, "exact.txt")}`, {}, KEY);
    expect(exact.reveal().length).toBe(MAX_SECRET_FILE_BYTES);
  });

  test("refuses a missing file, a directory, an empty file, an oversized file and bad UTF-8", async () => {
    const cases: [string, string][] = [
      [
        join(dir, "missing.txt"),
        `cannot read ${join(dir, "missing.txt")}: no such file or directory (ENOENT)`,
      ],
      [dir, `${dir} is not a regular file`],
      [join(dir, "empty.txt"), `file:${join(dir, "empty.txt")} is empty`],
      [join(dir, "big.txt"), `${join(dir, "big.txt")} is larger than ${MAX_SECRET_FILE_BYTES} bytes`],
      [join(dir, "latin1.txt"), `${join(dir, "latin1.txt")} is not valid UTF-8`],
    ];
    for (const [path, problem] of cases) {
      const error = await configFailure(() => resolveSecretRef(`file:${path}`, {}, KEY));
      expect(error.message).toBe(`${KEY}: ${problem}`);
    }
  });

  // root reads through mode bits, so this case can only be observed as an ordinary user.
  test.skipIf(process.getuid?.() === 0)("an unreadable file names the errno code", async () => {
    const path = join(dir, "locked.txt");
    await writeFile(path, "locked");
    await chmod(path, 0o000);
    const error = await configFailure(() => resolveSecretRef(`file:${path}`, {}, KEY));
    expect(error.message).toBe(`${KEY}: cannot read ${path}: permission denied (EACCES)`);
  });

  test("refuses an empty path", async () => {
    const error = await configFailure(() => resolveSecretRef("file:", {}, KEY));
    expect(error.message).toBe(`${KEY}: file: must name a file (file:/path)`);
  });
});

describe("credential: references", () => {
  test("reads $CREDENTIALS_DIRECTORY/NAME", async () => {
    const secret = await resolveSecretRef("credential:github", { CREDENTIALS_DIRECTORY: dir }, KEY);
    expect(secret.reveal()).toBe("credential-secret-value");
  });

  test.each([
    [
      "credential:github",
      {},
      `${KEY}: credential:github needs CREDENTIALS_DIRECTORY (set by systemd LoadCredential=)`,
    ],
    [
      "credential:../etc/passwd",
      { CREDENTIALS_DIRECTORY: "/x" },
      `${KEY}: credential: must be a plain credential name without '/' or '..'`,
    ],
    [
      "credential:a/b",
      { CREDENTIALS_DIRECTORY: "/x" },
      `${KEY}: credential: must be a plain credential name without '/' or '..'`,
    ],
    [
      "credential:..",
      { CREDENTIALS_DIRECTORY: "/x" },
      `${KEY}: credential: must be a plain credential name without '/' or '..'`,
    ],
    [
      "credential:",
      { CREDENTIALS_DIRECTORY: "/x" },
      `${KEY}: credential: must be a plain credential name without '/' or '..'`,
    ],
  ] as const)("%p is refused", async (ref, env, message) => {
    const error = await configFailure(() => resolveSecretRef(ref, env, KEY));
    expect(error.message).toBe(message);
  });

  test("a missing credential names the path", async () => {
    const error = await configFailure(() =>
      resolveSecretRef("credential:nope", { CREDENTIALS_DIRECTORY: dir }, KEY),
    );
    expect(error.message).toBe(
      `${KEY}: cannot read ${join(dir, "nope")}: no such file or directory (ENOENT)`,
    );
  });
});

describe("literal secrets", () => {
  test.each(["hunter2-literal-secret", "vault:secret/github", "ENV:GH"])(
    "%p is refused without echoing it",
    async (ref) => {
      const error = await configFailure(() => resolveSecretRef(ref, {}, KEY));
      expect(error.message).toBe(
        `${KEY}: a literal secret is not accepted; use env:NAME, file:/path or credential:NAME`,
      );
      expect(error.message).not.toContain(ref);
    },
  );
});
