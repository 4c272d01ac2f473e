/**
 * Loopback ports that were free a moment ago: for servers whose port must be known before they
 * start (an issuer URL, a printed command, a config file written first). All are held at once, so
 * the ports returned are distinct.
 */
export function freePorts(count: number): number[] {
  const probes = Array.from({ length: count }, () =>
    Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }),
  );
  const ports = probes.map((probe) => probe.port);
  for (const probe of probes) probe.stop(true);
  return ports;
}

export function freePort(): number {
  return freePorts(1)[0] ?? 0;
}
