import { ConfigError } from "../../../../src/core/errors.ts";

/** Runs `run` and returns the ConfigError it throws (or rejects with); anything else fails the test. */
export async function configFailure(run: () => unknown): Promise<ConfigError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}
