/**
 * `surrogate admin hash-password` at a real terminal: a pseudo-terminal from util-linux `script`,
 * so raw mode, echo and prompts are the kernel's, not a simulation.
 */
import { describe, expect, test } from "bun:test";
import { atTerminal } from "../helpers/terminal.ts";

const PROMPTS = ["New admin password: ", "The same password again: "];

/** `surrogate admin hash-password` with `answers` typed after its two prompts. */
function hashPassword(answers: string[]) {
  return atTerminal(
    ["admin", "hash-password"],
    answers.map((answer, index) => ({ prompt: PROMPTS[index] ?? "", answer })),
  );
}

describe("surrogate admin hash-password at a terminal", () => {
  test("asks twice, echoes nothing typed, prints the hash", async () => {
    const { screen, code } = await hashPassword(["tr0ub4dor&3", "tr0ub4dor&3"]);
    expect(code).toBe(0);
    expect(screen).not.toContain("tr0ub4dor");
    const hash = screen.split(/\r?\n/).find((line) => line.startsWith("$argon2id$"));
    expect(hash).toBeDefined();
    expect(await Bun.password.verify("tr0ub4dor&3", hash ?? "")).toBe(true);
  });

  test("two different answers: exit 1, no hash", async () => {
    const { screen, code } = await hashPassword(["first-password", "other-password"]);
    expect(code).toBe(1);
    expect(screen).toContain("the two passwords differ");
    expect(screen).not.toContain("$argon2id$");
    expect(screen).not.toContain("password\r\n$");
  });
});
