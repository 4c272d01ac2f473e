import { afterEach, describe, expect, test } from "bun:test";
import { openStore } from "../../../../src/broker/rendezvous/open.ts";
import type { RendezvousStore } from "../../../../src/broker/rendezvous/store.ts";
import { ConfigError } from "../../../../src/core/errors.ts";
import { testKeySets } from "../../../helpers/keys.ts";

const LIMITS = { maxPendingPerWorkload: 1, maxPendingTotal: 1 };
const opened: RendezvousStore[] = [];
const keys = await testKeySets();
const SEALING = { keys: () => keys };

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

async function open(url: string): Promise<RendezvousStore> {
  const store = await openStore(url, LIMITS, SEALING);
  opened.push(store);
  return store;
}

describe("openStore", () => {
  test("memory: gives the in-process store", async () => {
    expect((await open("memory:")).backend).toBe("memory");
  });

  test("redis:// and rediss:// give the Redis store without waiting for Redis", async () => {
    expect((await open("redis://127.0.0.1:1")).backend).toBe("redis");
    expect((await open("rediss://user:pw@redis.internal:6380/2")).backend).toBe("redis");
  });

  for (const url of [
    "",
    "memory",
    "memory://x",
    "http://127.0.0.1:6379",
    "redis://",
    "not a url",
    "valkey://h:1",
  ]) {
    test(`rejects ${JSON.stringify(url)} naming rendezvous.url`, async () => {
      const error = await openStore(url, LIMITS, SEALING).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ code: "config_invalid" });
      expect((error as Error).message).toStartWith("rendezvous.url: ");
    });
  }

  test("never echoes the URL, which may carry a password", async () => {
    const error = await openStore("redis+sentinel://:hunter2@h:1", LIMITS, SEALING).catch(
      (thrown: unknown) => thrown,
    );
    expect((error as Error).message).not.toContain("hunter2");
  });
});
