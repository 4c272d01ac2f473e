import type { AgentRequest } from "../../src/agent-port/http1/types.ts";
import type { ClientIdentity } from "../../src/core/identity/types.ts";

/**
 * What the agent port hands a handler for a form POST from `client` (RFC 8628 requests are forms):
 * for tests that call the broker API as a function, without TLS.
 */
export function formRequest(
  client: ClientIdentity,
  target: string,
  form: Record<string, string>,
  extraHeaders: Record<string, string> = {},
): AgentRequest {
  const headers = new Headers({ "content-type": "application/x-www-form-urlencoded", ...extraHeaders });
  return {
    method: "POST",
    target,
    rawHeaders: [...headers.entries()],
    headers,
    body: new Response(new URLSearchParams(form).toString()).body,
    signal: new AbortController().signal,
    client,
  };
}
