/**
 * The device-code polling loop of `surrogate login` (RFC 8628 §3.4–3.5), with a waiting indicator
 * on stderr. stdout is never written here: it is reserved for the token.
 */
import { OAuthError, SurrogateError } from "../core/errors.ts";
import { postForm } from "./agent-client.ts";
import type { AgentConnection } from "./agent-options.ts";
import { type DeviceGrant, parseTokenResponse, replyError, type TokenResponse } from "./broker-reply.ts";
import type { Writer } from "./command.ts";

/** RFC 8628 §3.4. */
const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** RFC 8628 §3.5: on `slow_down` the interval grows by 5 seconds for this and all later polls. */
const SLOW_DOWN_STEP = 5;
/** Without a terminal, a line at most this often: enough to show life in CI logs, not a flood. */
const PLAIN_EVERY_MS = 30_000;
const TICK_MS = 1000;
/** Longest wait between polls while the broker is unreachable. */
const MAX_RETRY_MS = 60_000;

export interface PollDeps {
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  stderr: Writer;
  isTTY: boolean;
}

export async function pollForToken(
  connection: AgentConnection,
  grant: DeviceGrant,
  deps: PollDeps,
): Promise<TokenResponse> {
  const deadline = deps.now() + grant.expires_in * 1000;
  const progress = createProgress(deps, deadline);
  let interval = grant.interval;
  let failures = 0;
  try {
    for (;;) {
      await waitFor(retryDelay(interval, failures), deadline, deps, progress);
      const outcome = await poll(connection, grant);
      if ("token" in outcome) return outcome.token;
      if (outcome.error.code === "temporarily_unavailable") {
        // The broker restarting or its Redis away: the grant lives on, so keep asking until it expires.
        failures += 1;
        progress.note(`${outcome.error.message}; retrying in ${retryDelay(interval, failures) / 1000}s`);
        continue;
      }
      failures = 0;
      if (outcome.error.code === "slow_down") interval += SLOW_DOWN_STEP;
      else if (outcome.error.code !== "authorization_pending") throw explain(outcome.error);
    }
  } finally {
    progress.done();
  }
}

/** One poll: the token, or the error (transport failures included) for the loop to judge. */
async function poll(
  connection: AgentConnection,
  grant: DeviceGrant,
): Promise<{ token: TokenResponse } | { error: SurrogateError }> {
  let reply: Awaited<ReturnType<typeof postForm>>;
  try {
    reply = await postForm(
      connection,
      "/v1/token",
      { grant_type: DEVICE_CODE_GRANT, device_code: grant.device_code },
      { established: true },
    );
  } catch (error) {
    if (error instanceof SurrogateError) return { error };
    throw error;
  }
  if (reply.status === 200) return { token: parseTokenResponse(reply.body, "the broker's token answer") };
  return { error: replyError(reply, "the broker's token endpoint") };
}

/** The polling interval; after failures, doubling from it up to a minute (back-off). */
export function retryDelay(interval: number, failures: number): number {
  if (failures === 0) return interval * 1000;
  return Math.min(MAX_RETRY_MS, interval * 1000 * 2 ** Math.min(failures, 10));
}

/** Sleeps one interval in short steps so the countdown moves; gives up at the grant's expiry. */
async function waitFor(ms: number, deadline: number, deps: PollDeps, progress: Progress): Promise<void> {
  const until = Math.min(deps.now() + ms, deadline);
  for (let now = deps.now(); now < until; now = deps.now()) {
    progress.tick(now);
    await deps.sleep(Math.min(TICK_MS, until - now));
  }
  if (deps.now() >= deadline) throw expired();
}

function expired(): OAuthError {
  return new OAuthError("expired_token", "the request expired before it was approved; run login again");
}

/** The outcomes a person causes get plain words; anything else keeps the broker's description. */
function explain(error: OAuthError | Error): Error {
  if (!(error instanceof OAuthError)) return error;
  if (error.code === "access_denied") return new OAuthError("access_denied", "the request was denied");
  if (error.code === "expired_token") return expired();
  return error;
}

interface Progress {
  tick(now: number): void;
  /** A line of its own (the indicator is cleared first and redrawn at the next tick). */
  note(text: string): void;
  done(): void;
}

function createProgress(deps: PollDeps, deadline: number): Progress {
  let lastPlain: number | undefined;
  let drawn = false;
  return {
    tick(now) {
      const left = `waiting for approval, ${formatLeft(deadline - now)} left`;
      if (deps.isTTY) {
        // \r rewrites the same line; ESC[K clears what a longer previous text left behind.
        deps.stderr.write(`\r\x1b[K${left}`);
        drawn = true;
      } else if (lastPlain === undefined || now - lastPlain >= PLAIN_EVERY_MS) {
        deps.stderr.write(`${left}\n`);
        lastPlain = now;
      }
    },
    note(text) {
      deps.stderr.write(`${drawn ? "\r\x1b[K" : ""}${text}\n`);
      drawn = false;
    },
    done() {
      if (drawn) deps.stderr.write("\r\x1b[K");
    },
  };
}

/** "9m 05s", "42s". */
export function formatLeft(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return minutes === 0 ? `${rest}s` : `${minutes}m ${String(rest).padStart(2, "0")}s`;
}
