/**
 * Talking to the broker's agent API over mTLS (DESIGN §4.1). One request per call, form-encoded,
 * bounded in time and size. Transport failures become ONE line that says which certificate failed
 * and why, because "ECONNRESET" alone sends people looking in the wrong place.
 */
import { SurrogateError } from "../core/errors.ts";
import type { AgentMaterial } from "./agent-material.ts";
import type { AgentConnection } from "./agent-options.ts";
import { readCapped } from "./input.ts";

/** A token response holds two wrappers of at most 16 KiB each; anything far larger is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

export type AgentPath = "/v1/grants" | "/v1/token" | "/v1/providers";

export interface BrokerReply {
  status: number;
  /** Parsed JSON, unchecked: callers check its shape. */
  body: unknown;
}

/** Verification of the broker's certificate against --ca (or the system CAs) failed. */
const UNTRUSTED = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_REJECTED",
]);
const NOT_CURRENT = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);
/** Our certificate was sent and the server hung up or alerted: the broker refused it. */
const REFUSED = new Set(["ECONNRESET", "EPROTO", "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE"]);
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ConnectionRefused",
]);

export interface PostOptions {
  timeoutMs?: number;
  /**
   * An earlier request already went through with this certificate (polling after the grant was
   * created): a reset is then the broker going away, not the broker refusing our certificate.
   */
  established?: boolean;
}

export function postForm(
  connection: AgentConnection,
  path: AgentPath,
  params: Record<string, string>,
  options: PostOptions = {},
): Promise<BrokerReply> {
  return send(connection, path, options, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams(params).toString(),
  });
}

export function getJson(
  connection: AgentConnection,
  path: AgentPath,
  options: PostOptions = {},
): Promise<BrokerReply> {
  return send(connection, path, options, { method: "GET", headers: { accept: "application/json" } });
}

async function send(
  connection: AgentConnection,
  path: AgentPath,
  options: PostOptions,
  init: RequestInit,
): Promise<BrokerReply> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let response: Response;
  try {
    response = await fetch(`${connection.broker}${path}`, {
      ...init,
      // The agent API never redirects; following one would send the device or refresh wrapper elsewhere.
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
      tls: tlsOptions(connection.material),
    });
  } catch (error) {
    throw transportError(error, connection, timeoutMs, options.established === true);
  }
  return { status: response.status, body: await readJson(response, connection) };
}

/** The client certificate, its key and the broker's CA as Bun's fetch takes them. */
export function tlsOptions(material: AgentMaterial) {
  return {
    cert: material.certPem,
    key: material.keyPem,
    ...(material.caPem === undefined ? {} : { ca: material.caPem }),
  };
}

async function readJson(response: Response, connection: AgentConnection): Promise<unknown> {
  const where = `the broker at ${connection.broker}`;
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > MAX_RESPONSE_BYTES || response.body === null) {
    await response.body?.cancel().catch(() => undefined);
    throw new SurrogateError(
      "server_error",
      `${where} sent an oversized or empty answer (${response.status})`,
    );
  }
  const bytes = await readCapped(
    response.body,
    MAX_RESPONSE_BYTES,
    () => new SurrogateError("server_error", `${where} sent more than ${MAX_RESPONSE_BYTES} bytes`),
  );
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SurrogateError(
      "server_error",
      `${where} answered ${response.status} without JSON: is it the agent port?`,
    );
  }
}

function codeOf(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return error instanceof Error ? error.name : "unknown";
}

/** One line naming the failing certificate: the broker's (against --ca) or ours (--cert). */
export function transportError(
  error: unknown,
  connection: AgentConnection,
  timeoutMs: number,
  established = false,
): SurrogateError {
  const code = codeOf(error);
  if (established && (REFUSED.has(code) || code.includes("ALERT"))) {
    return new SurrogateError(
      "temporarily_unavailable",
      `the connection to the broker at ${connection.broker} was cut [${code}]`,
    );
  }
  const trust = connection.caPath === undefined ? "the system CAs (pass --ca?)" : `--ca ${connection.caPath}`;
  if (UNTRUSTED.has(code)) {
    return new SurrogateError(
      "certificate_invalid",
      `the broker's certificate is not trusted by ${trust} [${code}]`,
    );
  }
  if (NOT_CURRENT.has(code)) {
    return new SurrogateError(
      "certificate_invalid",
      `the broker's certificate is expired or not yet valid [${code}]`,
    );
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const host = new URL(connection.broker).hostname;
    return new SurrogateError(
      "certificate_invalid",
      `the broker's certificate does not name ${host} [${code}]`,
    );
  }
  if (REFUSED.has(code) || code.includes("ALERT")) {
    return new SurrogateError(
      "certificate_invalid",
      `the broker refused our client certificate --cert ${connection.certPath} ` +
        `[${code} during the TLS handshake: is it issued by the broker's agent CA?]`,
    );
  }
  if (code === "TimeoutError" || code === "AbortError") {
    return new SurrogateError(
      "temporarily_unavailable",
      `the broker at ${connection.broker} did not answer within ${timeoutMs / 1000} s`,
    );
  }
  if (UNREACHABLE.has(code)) {
    return new SurrogateError(
      "temporarily_unavailable",
      `cannot reach the broker at ${connection.broker} [${code}]`,
    );
  }
  if (code === "RedirectError" || /redirect/i.test(error instanceof Error ? error.message : "")) {
    return new SurrogateError(
      "server_error",
      `the broker at ${connection.broker} answered with a redirect: refused`,
    );
  }
  return new SurrogateError(
    "temporarily_unavailable",
    `request to the broker at ${connection.broker} failed [${code}]`,
  );
}
