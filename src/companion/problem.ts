import type { ServerResponse } from "node:http";
import type { ErrorCode } from "../core/errors.ts";

/**
 * The companion's own refusals, as RFC 9457 problem details like the proxy's (DESIGN §9), so a
 * tool's error output names the code and says what to do. `detail` is built from host names and
 * provider names only, never from a credential.
 */
export function sendProblem(
  response: ServerResponse,
  status: number,
  code: ErrorCode,
  detail: string,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ type: `urn:surrogate:problem:${code}`, status, code, detail });
  response.writeHead(status, {
    "content-type": "application/problem+json",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

/** The same, as raw bytes for a CONNECT refused before any HTTP exchange on the tunnel. */
export function problemBytes(
  status: number,
  reason: string,
  code: ErrorCode,
  detail: string,
  extra = "",
): string {
  const body = JSON.stringify({ type: `urn:surrogate:problem:${code}`, status, code, detail });
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/problem+json\r\n${extra}` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}
