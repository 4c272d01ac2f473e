/**
 * `bun scripts/bench/companion.ts [--requests 2000] [--rounds 5] [--clients 1,8]`: what the agent-side
 * companion adds per request. Three ways to the same upstream, alternated in slices in one run:
 *   direct    client → proxy (mTLS, the wrapper in the header): what a tool written for surrogate does
 *   connect   client → `surrogate agent` (HTTPS_PROXY: CONNECT, TLS terminated by the companion's
 *             CA) → proxy: what an unmodified tool does
 *   base-url  client → `surrogate agent` (plain loopback HTTP, /_/<credential>/<host>/…) → proxy
 * The broker, proxy and upstream run in this process (test/helpers/companion.ts), the companion in
 * its own; keep-alive everywhere. Prints requests per second and each mode's ratio to direct.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startCompanionWorld, surrogateProcess } from "../../test/helpers/companion.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "2000" },
    rounds: { type: "string", default: "5" },
    clients: { type: "string", default: "1,8" },
  },
});
const perSlice = Math.max(1, Math.floor(Number(values.requests) / Number(values.rounds)));
const rounds = Number(values.rounds);

const world = await startCompanionWorld((port) => [{ name: "bench", upstreams: [`127.0.0.1:${port}`] }]);
await world.writeWrapper("bench");
const dir = join(world.dir, "agent");
const agent = surrogateProcess(
  ["agent", "--listen", "127.0.0.1:0", "--dir", dir, "--tokens", world.tokens],
  world.brokerEnv(),
);
const proxyPath = join(dir, "proxy-url");
for (let i = 0; i < 800 && !(await Bun.file(proxyPath).exists()); i += 1) await Bun.sleep(25);
const proxy = readFileSync(proxyPath, "utf8").trim();
const base = readFileSync(join(dir, "base-url"), "utf8").trim();
const companionCa = readFileSync(join(dir, "ca.pem"), "utf8");
const wrapper = JSON.parse(readFileSync(join(world.tokens, "bench.json"), "utf8")).access_token as string;
const target = `127.0.0.1:${world.upstream.port}`;

type Mode = "direct" | "connect" | "base-url";
const send: Record<Mode, () => Promise<Response>> = {
  direct: () =>
    fetch(`https://127.0.0.1:${world.agent.port}/${target}/bench`, {
      headers: { authorization: `Bearer ${wrapper}` },
      tls: { cert: world.pki.alpha.certPem, key: world.pki.alpha.keyPem, ca: world.pki.ca.certPem },
    } as RequestInit),
  connect: () => fetch(`https://${target}/bench`, { proxy, tls: { ca: companionCa } } as RequestInit),
  "base-url": () => fetch(`${base}/${target}/bench`),
};

async function slice(mode: Mode, clients: number): Promise<number> {
  const started = performance.now();
  let left = perSlice;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left > 0) {
        left -= 1;
        const response = await send[mode]();
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`${mode}: status ${response.status}`);
      }
    }),
  );
  return performance.now() - started;
}

const modes: Mode[] = ["direct", "connect", "base-url"];
console.log(`${perSlice} requests per slice, ${rounds} rounds, modes alternated`);
for (const clients of String(values.clients).split(",").map(Number)) {
  for (const mode of modes) await slice(mode, clients); // warm-up: connections, leaf certificate
  const total: Record<Mode, number> = { direct: 0, connect: 0, "base-url": 0 };
  for (let round = 0; round < rounds; round += 1)
    for (const mode of modes) total[mode] += await slice(mode, clients);
  const rate = (mode: Mode) => (perSlice * rounds) / (total[mode] / 1000);
  for (const mode of modes) {
    console.log(
      `clients=${clients} ${mode.padEnd(8)} ${rate(mode).toFixed(0).padStart(6)} req/s  ${(rate(mode) / rate("direct")).toFixed(2)}× direct`,
    );
  }
}
agent.child.kill("SIGTERM");
await agent.done;
await world.close();
