/**
 * `surrogate admin hash-password` at a real terminal: a pseudo-terminal from util-linux `script`,
 * so raw mode, echo and prompts are the kernel's, not a simulation.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../src/main.ts");

/** Runs the command on a pty; `answers` are typed after each prompt appears. */
async function atTerminal(answers: string[]): Promise<{ screen: string; code: number }> {
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} admin hash-password`;
  const child = Bun.spawn(["script", "-qec", command, "/dev/null"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = child.stdout.getReader();
  let screen = "";
  const waitFor = async (text: string) => {
    while (!screen.includes(text)) {
      const { done, value } = await reader.read();
      if (done) return;
      screen += new TextDecoder().decode(value);
    }
  };
  const prompts = ["New admin password: ", "The same password again: "];
  for (const [index, answer] of answers.entries()) {
    await waitFor(prompts[index] ?? "");
    child.stdin.write(`${answer}\r`);
    child.stdin.flush();
  }
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    screen += new TextDecoder().decode(value);
  }
  return { screen, code: await child.exited };
}

describe("surrogate admin hash-password at a terminal", () => {
  test("asks twice, echoes nothing typed, prints the hash", async () => {
    const { screen, code } = await atTerminal(["tr0ub4dor&3", "tr0ub4dor&3"]);
    expect(code).toBe(0);
    expect(screen).not.toContain("tr0ub4dor");
    const hash = screen.split(/\r?\n/).find((line) => line.startsWith("$argon2id$"));
    expect(hash).toBeDefined();
    expect(await Bun.password.verify("tr0ub4dor&3", hash ?? "")).toBe(true);
  });

  test("two different answers: exit 1, no hash", async () => {
    const { screen, code } = await atTerminal(["first-password", "other-password"]);
    expect(code).toBe(1);
    expect(screen).toContain("the two passwords differ");
    expect(screen).not.toContain("$argon2id$");
    expect(screen).not.toContain("password\r\n$");
  });
});
