import { describe, expect, test } from "bun:test";
import { createMemoryStore } from "../../../../src/broker/rendezvous/memory.ts";
import { registerStoreContract } from "./store-contract.ts";

registerStoreContract("memory", async (limits) => createMemoryStore(limits));

describe("memory store specifics", () => {
  test("reports its backend", () => {
    expect(createMemoryStore({ maxPendingPerWorkload: 1, maxPendingTotal: 1 }).backend).toBe("memory");
  });
});
