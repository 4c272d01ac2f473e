/**
 * The wrappers the companion sends, one file per provider in the token directory (`<provider>.json`
 * as `surrogate login --json` writes it, or a bare wrapper as `surrogate seal` prints it). Each is
 * refreshed ahead of its expiry, and at once when the client certificate changed (a refresh
 * rebinds), and written back atomically. A refusal is said once on stderr and then answered
 * locally: the tool gets one clear error instead of a stream of 401s from the proxy.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { OAuthError } from "../core/errors.ts";
import { decodeJsonObject, splitCompact } from "../core/token/compact.ts";
import type { AgentBroker, WrapperFile } from "./broker.ts";

/** Refresh this long before expiry at most, or a third of the wrapper's lifetime for short ones. */
const REFRESH_AHEAD_MS = 5 * 60_000;
/** A broker that is down is asked again after this, not on every request of a busy tool. */
const RETRY_AFTER_MS = 5_000;

export type WrapperResult = { wrapper: string } | { problem: string };

interface Held extends WrapperFile {
  /** The file's identity when read: a new login replaces it, and is picked up. */
  signature: string;
  /** Epoch ms. */
  expiresAt: number;
  refreshAt: number;
  /** The certificate thumbprint an `x5t#S256` binding names, if that is the binding. */
  boundTo: string | undefined;
}

interface ProviderState {
  held?: Held;
  /** The broker's final refusal: said once, then answered locally until the file changes. */
  refused?: { signature: string; problem: string };
  /** A transient failure already reported (cleared by the next success). */
  reported?: boolean;
  /** After a transient failure, the broker is not asked again before this (epoch ms). */
  retryAt?: number;
  refreshing?: Promise<void> | undefined;
}

export interface WrapperStore {
  get(provider: string): Promise<WrapperResult>;
  /** Whether a wrapper file exists for the provider (`run` logs in for those that have none). */
  has(provider: string): Promise<boolean>;
  pathOf(provider: string): string;
}

interface StoreDeps {
  directory: string;
  broker: AgentBroker;
  stderr: { write(text: string): void };
  now?: () => number;
}

export function createWrapperStore(deps: StoreDeps): WrapperStore {
  const now = deps.now ?? Date.now;
  const states = new Map<string, ProviderState>();
  const pathOf = (provider: string) => join(deps.directory, `${provider}.json`);

  async function load(provider: string, state: ProviderState): Promise<Held | undefined> {
    const signature = await fileSignature(pathOf(provider));
    if (signature === undefined) return undefined;
    if (state.held?.signature !== signature) {
      state.held = held(await deps.broker.readWrapperFile(pathOf(provider)), signature);
    }
    return state.held;
  }

  async function refresh(provider: string, state: ProviderState, current: Held): Promise<void> {
    try {
      const file = await deps.broker.refresh(current.refresh ?? "", pathOf(provider));
      state.held = held(file, (await fileSignature(pathOf(provider))) ?? "");
      state.reported = false;
    } catch (error) {
      const detail = deps.broker.describeFailure(error);
      if (error instanceof OAuthError && (error.code === "invalid_grant" || error.code === "access_denied")) {
        const problem = `provider ${provider}: ${detail}; run "surrogate login ${provider}" again`;
        state.refused = { signature: current.signature, problem };
        deps.stderr.write(`surrogate: ${problem}\n`);
      } else {
        state.retryAt = now() + RETRY_AFTER_MS;
        if (state.reported !== true)
          deps.stderr.write(`surrogate: provider ${provider}: refresh failed, will retry: ${detail}\n`);
        state.reported = true;
      }
    }
  }

  async function due(current: Held, state: ProviderState): Promise<boolean> {
    if (current.refresh === undefined || (state.retryAt ?? 0) > now()) return false;
    if (now() >= current.refreshAt) return true;
    // RFC 8705 §3: bound to a certificate that is no longer ours, the wrapper is useless; the
    // broker rebinds it on refresh.
    return current.boundTo !== undefined && current.boundTo !== (await deps.broker.current()).thumbprint;
  }

  return {
    pathOf,
    async has(provider) {
      return (await fileSignature(pathOf(provider))) !== undefined;
    },
    async get(provider) {
      const state = states.get(provider) ?? {};
      states.set(provider, state);
      let current: Held | undefined;
      try {
        current = await load(provider, state);
      } catch (error) {
        return { problem: deps.broker.describeFailure(error) };
      }
      if (current === undefined) {
        return {
          problem: `no wrapper for provider ${provider}: run "surrogate login ${provider} --json --out ${pathOf(provider)}"`,
        };
      }
      if (state.refused?.signature !== current.signature && (await due(current, state))) {
        const held = current;
        state.refreshing ??= refresh(provider, state, held).finally(() => {
          state.refreshing = undefined;
        });
        await state.refreshing;
        current = state.held ?? current;
      }
      if (state.refused?.signature === current.signature && current.expiresAt <= now()) {
        return { problem: state.refused.problem };
      }
      if (current.expiresAt <= now()) {
        return {
          problem: `the wrapper for provider ${provider} expired; run "surrogate login ${provider}" again`,
        };
      }
      return { wrapper: current.access };
    },
  };
}

/** Times and binding from the access wrapper's payload, read unverified: the proxy verifies it. */
function held(file: WrapperFile, signature: string): Held {
  const [, payloadSegment = ""] = splitCompact(file.access, 3, "wrapper");
  const payload = decodeJsonObject(payloadSegment, "wrapper payload");
  const expiresAt = typeof payload.exp === "number" ? payload.exp * 1000 : 0;
  const issuedAt = typeof payload.iat === "number" ? payload.iat * 1000 : expiresAt;
  const cnf = payload.cnf;
  const x5t =
    typeof cnf === "object" && cnf !== null ? (cnf as Record<string, unknown>)["x5t#S256"] : undefined;
  const ahead = Math.min(REFRESH_AHEAD_MS, (expiresAt - issuedAt) / 3);
  return {
    ...file,
    signature,
    expiresAt,
    refreshAt: expiresAt - ahead,
    boundTo: typeof x5t === "string" ? x5t : undefined,
  };
}

async function fileSignature(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}
