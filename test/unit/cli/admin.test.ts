import { describe, expect, test } from "bun:test";
import { cli } from "./io.ts";

const hashPassword = (input: string) => cli(["admin", "hash-password"], { input });

describe("surrogate admin hash-password (piped)", () => {
  test("prints only an argon2id hash of the one line read, which verifies", async () => {
    const result = await hashPassword("correct horse\n");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^\$argon2id\$[^\n]+\n$/);
    expect(await Bun.password.verify("correct horse", result.stdout.trim())).toBe(true);
    expect(await Bun.password.verify("correct horse\n", result.stdout.trim())).toBe(false);
  });

  test.each([
    ["empty input", "", "the password is empty"],
    ["an empty line", "\n", "the password is empty"],
    ["a short password", "short\n", "shorter than 8 characters"],
    ["two lines", "first line\nsecond\n", "more than one line"],
    ["an oversized line", `${"x".repeat(1025)}\n`, "longer than 1024 characters"],
  ])("refuses %s, writing nothing on stdout", async (_name, input, problem) => {
    const result = await hashPassword(input);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(problem);
    expect(result.stderr).toContain("(input_invalid)");
  });

  test("an unknown subcommand is a usage error", async () => {
    const result = await cli(["admin", "hash"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown subcommand "hash"');
  });
});
