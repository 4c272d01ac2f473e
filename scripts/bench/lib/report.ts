import { merged, percentile, type Sample } from "./load.ts";

/** One row of the table: a target at one concurrency, all its alternated slices together. */
export interface Row {
  clients: number;
  target: string;
  samples: Sample[];
  /** CPU seconds the target's processes used during the measured slices. */
  cpu: number;
  /** Peak resident set of the target's processes so far, bytes. */
  rss: number;
}

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  cpuPer10k: number;
  rssMb: number;
  errors: number;
  requests: number;
}

export function figures(row: Row): Figures {
  const requests = row.samples.reduce((sum, s) => sum + s.requests, 0);
  const seconds = row.samples.reduce((sum, s) => sum + s.seconds, 0);
  const sorted = merged(row.samples);
  return {
    rps: requests / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    cpuPer10k: requests === 0 ? Number.NaN : (row.cpu / requests) * 10_000,
    rssMb: row.rss / 2 ** 20,
    errors: row.samples.reduce((sum, s) => sum + s.errors, 0),
    requests,
  };
}

export function table(rows: Row[]): string {
  const lines = [
    "| clients | target | req/s | p50 ms | p99 ms | p99.9 ms | CPU s / 10k req | peak RSS MB | errors |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const f = figures(row);
    lines.push(
      `| ${row.clients} | ${row.target} | ${f.rps.toFixed(0)} | ${f.p50.toFixed(3)} | ${f.p99.toFixed(3)} | ` +
        `${f.p999.toFixed(3)} | ${f.cpuPer10k.toFixed(2)} | ${f.rssMb.toFixed(1)} | ${f.errors} |`,
    );
  }
  return lines.join("\n");
}

/** The surrogate targets present in this run (`surrogate`, `surrogate-2w`). */
function surrogates(rows: Row[]): string[] {
  return [...new Set(rows.map((r) => r.target).filter((t) => t.startsWith("surrogate")))];
}

function at(rows: Row[], clients: number, target: string): Figures | undefined {
  const row = rows.find((r) => r.clients === clients && r.target === target);
  return row === undefined ? undefined : figures(row);
}

/** Targets compared with nginx: surrogate's, and the platform floors of `--floor` (./bare.ts). */
function compared(rows: Row[]): string[] {
  const baselines = new Set(["direct", "nginx", `nginx${NEW}`]);
  return [...new Set(rows.map((r) => r.target).filter((t) => !baselines.has(t)))];
}

/** Suffix of the one-request-per-new-connection targets; each is compared with nginx's. */
const NEW = "/new";

function nginxFor(target: string): string {
  return target.endsWith(NEW) ? `nginx${NEW}` : "nginx";
}

/** Each compared target ÷ nginx throughput and − direct latency, per concurrency. */
export function ratios(rows: Row[]): string {
  const lines = [
    "| clients | target | ÷ nginx req/s | − direct p50 ms | − direct p99 ms | nginx − direct p50 ms |",
    "|---|---|---|---|---|---|",
  ];
  for (const clients of [...new Set(rows.map((r) => r.clients))]) {
    const direct = at(rows, clients, "direct");
    for (const target of compared(rows)) {
      const [s, nginx] = [at(rows, clients, target), at(rows, clients, nginxFor(target))];
      if (direct === undefined || nginx === undefined || s === undefined) continue;
      lines.push(
        `| ${clients} | ${target} | ${(s.rps / nginx.rps).toFixed(2)} | ${(s.p50 - direct.p50).toFixed(3)} | ` +
          `${(s.p99 - direct.p99).toFixed(3)} | ${(nginx.p50 - direct.p50).toFixed(3)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** The targets, each judged on this run's figures for every surrogate target. */
export function verdicts(rows: Row[]): string[] {
  const out: string[] = [];
  for (const target of surrogates(rows)) {
    if (target.endsWith(NEW)) {
      for (const clients of [...new Set(rows.map((r) => r.clients))]) {
        const [s, n] = [at(rows, clients, target), at(rows, clients, nginxFor(target))];
        if (s && n)
          out.push(judge(`${target}: connections/s at ${clients} ≥ 1× nginx's`, s.rps / n.rps, 1, "≥"));
      }
      continue;
    }
    for (const clients of [16, 64]) {
      const [s, n] = [at(rows, clients, target), at(rows, clients, "nginx")];
      if (!s || !n) continue;
      out.push(judge(`${target}: throughput at ${clients} clients ≥ 0.8× nginx`, s.rps / n.rps, 0.8, "≥"));
      const cpu = s.cpuPer10k / n.cpuPer10k;
      out.push(judge(`${target}: CPU per request at ${clients} clients ≤ 1.3× nginx's`, cpu, 1.3, "≤"));
    }
    const [s1, d1] = [at(rows, 1, target), at(rows, 1, "direct")];
    if (s1 && d1) out.push(judge(`${target}: added p50 at 1 client ≤ 0.1 ms`, s1.p50 - d1.p50, 0.1, "≤"));
    const rss = Math.max(...rows.filter((r) => r.target === target).map((r) => figures(r).rssMb));
    out.push(judge(`${target}: peak RSS (all its processes) ≤ 100 MB`, rss, 100, "≤"));
  }
  const errors = rows.map(figures).reduce((sum, f) => sum + f.errors, 0);
  out.push(judge("no errors at any level", errors, 0, "≤"));
  return out;
}

function judge(name: string, value: number, limit: number, op: "≥" | "≤"): string {
  const ok = op === "≥" ? value >= limit : value <= limit;
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(3);
  return `${ok ? "met   " : "MISSED"} ${name}: ${shown}`;
}
