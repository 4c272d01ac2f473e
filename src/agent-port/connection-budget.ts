/**
 * Who may hold a connection on the agent port. A TCP connection costs a descriptor, memory and a
 * TLS handshake before any certificate is seen, so unauthenticated connections get their own
 * budget — per source (`max_handshakes_per_address`) and in total (`max_pending_handshakes`) —
 * apart from the authenticated connections `max_connections` counts. A flood of idle sockets from
 * one place then fills only its own budget and can never take the capacity agents need.
 */
import { sourceKey } from "../core/http/address.ts";

export interface ConnectionLimits {
  /** Authenticated connections. */
  maxConnections: number;
  /** Unauthenticated connections per source (IPv4 address or IPv6 /64). */
  perSource: number;
  /** Unauthenticated connections in total. */
  pending: number;
}

export type Refusal = "max_connections" | "per_address" | "pending_handshakes" | "handshake_timeout";

/** One accepted connection's hold on the budget. */
export interface Ticket {
  readonly source: string;
  /** The handshake authenticated it: trades the pending slot for an authenticated one, if one is free. */
  promote(): Refusal | undefined;
  /** Frees whichever slot it holds; safe to call more than once. */
  release(): void;
}

export class ConnectionBudget {
  readonly #limits: ConnectionLimits;
  readonly #pendingBySource = new Map<string, number>();
  #pending = 0;
  #authenticated = 0;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /** A ticket for a new connection from `remoteAddress`, or why it is refused. */
  open(remoteAddress: string): Ticket | Refusal {
    const source = sourceKey(remoteAddress);
    // No point in a handshake that could not be served: refuse before spending it.
    if (this.#authenticated >= this.#limits.maxConnections) return "max_connections";
    if (this.#pending >= this.#limits.pending) return "pending_handshakes";
    const own = this.#pendingBySource.get(source) ?? 0;
    if (own >= this.#limits.perSource) return "per_address";
    this.#pendingBySource.set(source, own + 1);
    this.#pending += 1;
    return this.#ticket(source);
  }

  #ticket(source: string): Ticket {
    let held: "pending" | "authenticated" | "none" = "pending";
    return {
      source,
      promote: () => {
        if (held !== "pending") return undefined;
        this.#unpend(source);
        held = "none";
        if (this.#authenticated >= this.#limits.maxConnections) return "max_connections";
        this.#authenticated += 1;
        held = "authenticated";
        return undefined;
      },
      release: () => {
        if (held === "pending") this.#unpend(source);
        if (held === "authenticated") this.#authenticated -= 1;
        held = "none";
      },
    };
  }

  #unpend(source: string): void {
    this.#pending -= 1;
    const left = (this.#pendingBySource.get(source) ?? 1) - 1;
    if (left === 0) this.#pendingBySource.delete(source);
    else this.#pendingBySource.set(source, left);
  }
}
