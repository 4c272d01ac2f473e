/**
 * Runs a surrogate command on a real pseudo-terminal (util-linux `script`), so raw mode, echo and
 * prompts are the kernel's, not a simulation. Each answer is typed once its prompt has appeared.
 */
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../src/main.ts");

export interface TypedAnswer {
  prompt: string;
  answer: string;
}

export async function atTerminal(
  args: string[],
  answers: TypedAnswer[],
): Promise<{ screen: string; code: number }> {
  const command = [process.execPath, MAIN, ...args].map((part) => JSON.stringify(part)).join(" ");
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
  for (const { prompt, answer } of answers) {
    await waitFor(prompt);
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
