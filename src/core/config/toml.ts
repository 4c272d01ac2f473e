import { ConfigError } from "../errors.ts";

/**
 * Bun's TOML parser, with the error located. Bun's SyntaxError carries no usable line (its `line`
 * is the caller's), so the line is found by parsing ever longer prefixes of whole lines: the
 * shortest prefix that fails the same way ends at the offending line. Binary search keeps that to
 * ~20 parses for the largest file allowed.
 *
 * A misplaced secret may sit on that line (`client_secret = ghp_…` unquoted is a syntax error),
 * and Bun's own message may quote it: values are never echoed. The line is shown up to its `=`
 * (or in full for a `[table]` header), and quoted text is cut from the message.
 */
export function parseToml(text: string): unknown {
  try {
    return Bun.TOML.parse(text);
  } catch (error) {
    const problem = problemOf(error);
    const lines = text.split("\n");
    const line = offendingLine(lines, problem);
    const where = line === undefined ? "" : ` on line ${line} (${shown(lines[line - 1] ?? "")})`;
    throw new ConfigError("config", `invalid TOML${where}: ${problem}`);
  }
}

function problemOf(error: unknown): string {
  const message = error instanceof Error ? error.message : "unreadable";
  return message
    .replace(/^TOML Parse error:\s*/, "")
    .replace(/:\s*"[^"]*"\s*$/, "")
    .replace(/"[^"]*"/g, "…");
}

function failsWith(text: string, problem: string): boolean {
  try {
    Bun.TOML.parse(text);
    return false;
  } catch (error) {
    return problemOf(error) === problem;
  }
}

/** 1-based number of the last line of the shortest failing prefix, or undefined if none fails alike. */
function offendingLine(lines: string[], problem: string): number | undefined {
  let low = 1;
  let high = lines.length;
  if (!failsWith(lines.join("\n"), problem)) return undefined;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    // Each prefix keeps its line break: "newlines must be escaped" needs to see it.
    if (failsWith(`${lines.slice(0, middle).join("\n")}\n`, problem)) high = middle;
    else low = middle + 1;
  }
  return low;
}

const MAX_SHOWN = 80;

function shown(line: string): string {
  const trimmed = line.trim();
  const header = /^\[\[?[^\]=]*\]?\]?$/.test(trimmed);
  const equals = trimmed.indexOf("=");
  const visible = header
    ? trimmed
    : equals >= 0
      ? `${trimmed.slice(0, equals + 1)} …`
      : `${trimmed.split(/\s/)[0] ?? ""}${/\s/.test(trimmed) ? " …" : ""}`;
  const cut = visible.length > MAX_SHOWN ? `${visible.slice(0, MAX_SHOWN)}…` : visible;
  return JSON.stringify(cut).slice(1, -1);
}
