/**
 * Reading a secret typed at a terminal without echoing it: the terminal is put in raw mode, so
 * nothing typed is shown (not even as asterisks: their count would give away the length), and it
 * is restored however the read ends.
 */
import { SurrogateError } from "../core/errors.ts";
import type { Writer } from "./command.ts";

/** Longer input is not a password (the admin login refuses longer ones too). */
export const MAX_TYPED = 1024;

const ENTER = new Set(["\r", "\n"]);
const ERASE = new Set(["\u007f", "\b"]);
const INTERRUPT = "\u0003";
const END_OF_INPUT = "\u0004";

/** Whether the process's stdin is a terminal a person types at (not a pipe, not a test's stream). */
export function stdinIsTerminal(injected: unknown): boolean {
  return injected === undefined && process.stdin.isTTY === true;
}

/** Reads one line typed at the terminal, never echoed; at most `max` characters are kept (one more is kept so the caller can refuse the input as too long). */
export function readHidden(prompt: string, stderr: Writer, max = MAX_TYPED): Promise<string> {
  const stdin = process.stdin;
  // Raw mode before the prompt: whatever is typed once the prompt shows is never echoed.
  stdin.setRawMode(true);
  stdin.resume();
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = "";
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write("\n");
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString("utf8")) {
        if (ENTER.has(char)) {
          finish();
          resolve(typed);
          return;
        }
        if (char === INTERRUPT || (char === END_OF_INPUT && typed === "")) {
          finish();
          reject(new SurrogateError("input_invalid", "interrupted; nothing written"));
          return;
        }
        if (ERASE.has(char)) typed = Array.from(typed).slice(0, -1).join("");
        else if (char >= " " && typed.length < max + 1) typed += char;
      }
    };
    stdin.on("data", onData);
  });
}
