import { drive, type LoadTarget, type Sample } from "./load.ts";

/**
 * One load-generator process per target. Bun's fetch keeps one process-wide connection pool and
 * evicts a target's idle connections while another target is driven, so alternating targets in one
 * process would re-handshake every slice (measured: 64 new connections per slice). A process per
 * target keeps each target's keep-alive connections warm across slices, as the issue asks.
 */

export interface Driver {
  run(clients: number, seconds: number): Promise<Sample>;
  stop(): Promise<void>;
}

/** Child side: reads `clients seconds` lines from stdin, answers each with one JSON line. */
export async function serveDriver(target: LoadTarget): Promise<void> {
  for await (const line of console) {
    const [clients, seconds] = line.split(" ").map(Number);
    const sample = await drive(target, clients ?? 1, seconds ?? 1);
    process.stdout.write(`${JSON.stringify({ ...sample, latencies: Array.from(sample.latencies) })}\n`);
  }
}

/** Parent side: starts `bun <script> --role driver <target.json>` and talks to it line by line. */
export function startDriver(script: string, targetFile: string): Driver {
  const child = Bun.spawn(["bun", script, "--role", "driver", targetFile], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    while (!buffered.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error("bench: a load generator exited");
      buffered += decoder.decode(value);
    }
    const newline = buffered.indexOf("\n");
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    return line;
  };
  return {
    async run(clients, seconds) {
      child.stdin.write(`${clients} ${seconds}\n`);
      child.stdin.flush();
      const parsed = JSON.parse(await nextLine()) as Omit<Sample, "latencies"> & { latencies: number[] };
      return { ...parsed, latencies: Float64Array.from(parsed.latencies) };
    },
    async stop() {
      child.stdin.end();
      child.kill();
      await child.exited;
    },
  };
}
