/**
 * The companion's broker connection (src/companion/broker.ts), built from the CLI's agent client:
 * the same flags, variables, checks and error lines as `surrogate login`. SPIFFE agents rotate
 * their SVID files every hour or so, so each call checks (by stat, no read) whether the
 * certificate, key or CA file changed and, when it did, loads and checks the new material first.
 */
import { X509Certificate } from "node:crypto";
import { stat } from "node:fs/promises";
import type { AgentBroker, BrokerConnection, WrapperFile } from "../companion/broker.ts";
import { SurrogateError } from "../core/errors.ts";
import { thumbprintOf } from "../core/identity/thumbprint.ts";
import { getJson, postForm, tlsOptions, transportError } from "./agent-client.ts";
import { loadAgentMaterial } from "./agent-material.ts";
import type { AgentConnection, AgentOptions } from "./agent-options.ts";
import { parseTokenResponse, replyError } from "./broker-reply.ts";
import type { Writer } from "./command.ts";
import { readFileBytes, utf8Of } from "./input.ts";
import { MAX_TOKEN_INPUT_BYTES, wrapperFromText } from "./token-input.ts";
import { formatTokenResponse, writePrivateFile } from "./token-output.ts";

/** The proxy's own timeout bounds an upstream; this bounds the broker API calls. */
const API_TIMEOUT_MS = 30_000;

interface Loaded {
  connection: AgentConnection;
  exposed: BrokerConnection;
}

export async function createCompanionBroker(
  options: AgentOptions,
  stderr: Writer,
  now: () => number = Date.now,
): Promise<AgentBroker> {
  const paths = [
    options.certPath,
    options.keyPath,
    ...(options.caPath === undefined ? [] : [options.caPath]),
  ];
  let signature = await signatureOf(paths);
  let loaded = await load(options, now());
  let refused: string | undefined;
  let loading: Promise<void> | undefined;

  async function reload(next: string): Promise<void> {
    try {
      loaded = await load(options, now());
      signature = next;
      refused = undefined;
    } catch (error) {
      // A rotation writes the certificate and the key one after the other: a pair that does not
      // match yet is retried on the next request; the reason is said once, not per request.
      if (refused !== next) {
        refused = next;
        const detail = error instanceof SurrogateError ? error.message : "unreadable";
        stderr.write(`surrogate: new certificate files not used yet: ${detail}\n`);
      }
    }
  }

  async function current(): Promise<Loaded> {
    const next = await signatureOf(paths).catch(() => signature);
    if (next !== signature && next !== refused) {
      loading ??= reload(next).finally(() => {
        loading = undefined;
      });
      await loading;
    }
    return loaded;
  }

  return {
    current: async () => (await current()).exposed,
    async providers() {
      const reply = await getJson((await current()).connection, "/v1/providers");
      if (reply.status !== 200) throw replyError(reply, "the broker refused the providers list");
      return reply.body;
    },
    async refresh(refreshWrapper, path) {
      const { connection } = await current();
      const reply = await postForm(connection, "/v1/token", {
        grant_type: "refresh_token",
        refresh_token: refreshWrapper,
      });
      if (reply.status !== 200) throw replyError(reply, "the broker refused the refresh");
      const text = formatTokenResponse(parseTokenResponse(reply.body, "the broker's token answer"), true);
      await writePrivateFile(path, text);
      return wrapperFile(text, path);
    },
    async readWrapperFile(path) {
      return wrapperFile(utf8Of(await readFileBytes(path, MAX_TOKEN_INPUT_BYTES, path), path).trim(), path);
    },
    describeFailure(error) {
      if (error instanceof SurrogateError) return error.message;
      return transportError(error, loaded.connection, API_TIMEOUT_MS).message;
    },
  };
}

async function load(options: AgentOptions, now: number): Promise<Loaded> {
  const material = await loadAgentMaterial(options, now);
  const leaf = new X509Certificate(material.certPem);
  return {
    connection: { ...options, material },
    exposed: {
      broker: options.broker,
      tls: tlsOptions(material),
      thumbprint: thumbprintOf(new Uint8Array(leaf.raw)),
    },
  };
}

/** A bare wrapper (from `seal`) or login's JSON, whose refresh wrapper is kept when there is one. */
function wrapperFile(text: string, path: string): WrapperFile {
  const access = wrapperFromText(text, "access_token", path);
  if (!text.startsWith("{") || !/"refresh_token"/.test(text)) return { access };
  return { access, refresh: wrapperFromText(text, "refresh_token", path) };
}

/** Inode, size and modification time of each file: a rename over the file or a rewrite changes it. */
async function signatureOf(paths: string[]): Promise<string> {
  const stats = await Promise.all(paths.map((path) => stat(path)));
  return stats.map((s) => `${s.ino}:${s.size}:${s.mtimeMs}`).join("|");
}
