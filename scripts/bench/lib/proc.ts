import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time and peak memory of the processes behind a target, read from /proc (Linux). A target is a
 * process tree (nginx: master + workers); its figures are the sums over the tree.
 */

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, all threads) consumed so far by `pid` and its descendants. */
export function cpuSeconds(pid: number): number {
  return tree(pid).reduce((sum, p) => sum + ticksOf(p), 0) / TICKS_PER_SECOND;
}

/** Peak resident set (VmHWM) in bytes, summed over `pid` and its descendants. */
export function peakRss(pid: number): number {
  return tree(pid).reduce((sum, p) => sum + hwmOf(p), 0);
}

function ticksOf(pid: number): number {
  const stat = readOrEmpty(`/proc/${pid}/stat`);
  // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
}

function hwmOf(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readOrEmpty(`/proc/${pid}/status`));
  return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
}

function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOrEmpty(`/proc/${entry}/stat`);
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(parent) ?? [];
    list.push(Number(entry));
    children.set(parent, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
