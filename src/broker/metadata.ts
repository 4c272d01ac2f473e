/**
 * `GET /.well-known/oauth-authorization-server` on the agent port (DESIGN §4.1): the agent API
 * described as an RFC 8414 authorization server, so a standard device-flow client discovers its
 * endpoints from the port's URL alone. Not an OpenID Provider: no id_tokens are issued here, so
 * there is no `openid-configuration`.
 */
import { jsonResponse } from "./oauth-response.ts";

/** RFC 8414 §3: the well-known suffix for an issuer without a path component. */
export const METADATA_PATH = "/.well-known/oauth-authorization-server";

/** RFC 8628 §3.4. */
export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/** `publicUrl` is an origin without a trailing slash (`[agent] public_url`), so paths append. */
export function metadataResponse(publicUrl: string): Response {
  return jsonResponse({
    // RFC 8414 §3.3: identical to the URL the client derived the metadata location from.
    issuer: publicUrl,
    device_authorization_endpoint: `${publicUrl}/v1/grants`,
    token_endpoint: `${publicUrl}/v1/token`,
    grant_types_supported: [DEVICE_CODE_GRANT, "refresh_token"],
    // Public clients: the agent proves itself with its TLS certificate, to which every token is
    // bound (RFC 8705 §3), so there is no client secret to present.
    token_endpoint_auth_methods_supported: ["none"],
    tls_client_certificate_bound_access_tokens: true,
    // RFC 8414 §2 requires the member; there is no authorization endpoint here.
    response_types_supported: [],
  });
}
