import { describe, expect, test } from "bun:test";
import { ConnectionBudget, type Ticket } from "../../../src/agent-port/connection-budget.ts";

const ticket = (value: Ticket | string): Ticket => {
  if (typeof value === "string") throw new Error(`refused: ${value}`);
  return value;
};

describe("ConnectionBudget", () => {
  test("pending connections are capped per source (IPv6 per /64) and in total", () => {
    const budget = new ConnectionBudget({ maxConnections: 10, perSource: 2, pending: 3 });
    ticket(budget.open("10.0.0.1"));
    ticket(budget.open("10.0.0.1"));
    expect(budget.open("10.0.0.1")).toBe("per_address");
    ticket(budget.open("2001:db8::1"));
    expect(budget.open("2001:db8::2")).toBe("pending_handshakes");
    expect(budget.open("10.0.0.2")).toBe("pending_handshakes");
  });

  test("a promoted connection frees its pending slot and holds an authenticated one", () => {
    const budget = new ConnectionBudget({ maxConnections: 1, perSource: 1, pending: 5 });
    const first = ticket(budget.open("10.0.0.1"));
    const second = ticket(budget.open("10.0.0.2"));
    expect(first.promote()).toBeUndefined();
    // Authenticated capacity is full: the handshake is refused before it starts …
    expect(budget.open("10.0.0.3")).toBe("max_connections");
    // … and one already under way is refused when it completes.
    expect(second.promote()).toBe("max_connections");
    second.release();
    first.release();
    first.release();
    expect(ticket(budget.open("10.0.0.2")).promote()).toBeUndefined();
  });

  test("release is idempotent and frees exactly what was held", () => {
    const budget = new ConnectionBudget({ maxConnections: 5, perSource: 1, pending: 2 });
    const held = ticket(budget.open("10.0.0.1"));
    held.release();
    held.release();
    const next = ticket(budget.open("10.0.0.1"));
    expect(budget.open("10.0.0.1")).toBe("per_address");
    next.release();
  });
});
