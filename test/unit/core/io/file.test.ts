import { describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileCapped, reasonOf } from "../../../../src/core/io/file.ts";

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: something, open '/x'`), { code });
}

describe("reasonOf: why a file could not be read, in words and errno code", () => {
  test.each([
    ["ENOENT", "no such file or directory (ENOENT)"],
    ["EACCES", "permission denied (EACCES)"],
    ["EISDIR", "is a directory (EISDIR)"],
    ["EROFS", "read-only file system (EROFS)"],
  ])("%s", (code, words) => {
    expect(reasonOf(errno(code))).toBe(words);
  });

  test("an unknown code is given as it is; no code at all says unreadable", () => {
    expect(reasonOf(errno("EWEIRD"))).toBe("EWEIRD");
    expect(reasonOf(new Error("boom"))).toBe("unreadable");
  });

  test("a real missing file is reported through it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "surrogate-io-"));
    try {
      const failure = await readFileCapped(join(dir, "absent"), 10, {
        unreadable: (error) => new Error(reasonOf(error)),
        notAFile: () => new Error("not a file"),
        tooLarge: () => new Error("too large"),
      }).catch((error: Error) => error.message);
      expect(failure).toBe("no such file or directory (ENOENT)");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
