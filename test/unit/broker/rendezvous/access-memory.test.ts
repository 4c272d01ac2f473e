import { createMemoryAccessStore } from "../../../../src/broker/rendezvous/access-memory.ts";
import { registerAccessContract } from "./access-contract.ts";

registerAccessContract("memory", async () => createMemoryAccessStore());
