/** @jsxImportSource @kitajs/html */
import { breakAtSlashes } from "./break-at-slashes.ts";
import { Layout } from "./layout.tsx";
import { TimeLeft } from "./time-left.tsx";

export interface ConsentProps {
  grantId: string;
  /** SPIFFE ID or certificate subject, as the agent's certificate said: attacker-influenced. */
  workload: string;
  fingerprint: string;
  provider: string;
  /** Whose sign-in Approve leads to ("GitHub", "corp (idp.corp.example)"). */
  signIn: string;
  /** The hosts the agent can reach with the token, as the allow-list names them. */
  upstreams: readonly string[];
  scopes: readonly string[];
  /** Formatted `XXXX-XXXX`. */
  userCode: string;
  remainingMs: number;
  csrfToken: string;
}

/** Hidden fields shared by Approve and Deny. Both values are base64url we generated. */
function DecisionFields({ grantId, csrfToken }: Pick<ConsentProps, "grantId" | "csrfToken">): JSX.Element {
  return (
    <>
      <input type="hidden" name="grant" value={grantId} />
      <input type="hidden" name="csrf" value={csrfToken} />
    </>
  );
}

/**
 * The consent page (DESIGN §4.2): who is asking, for what, and the two choices. Every value from
 * the agent (workload, scopes) is rendered with `safe`: Kita does not escape children by default.
 */
export function ConsentPage(props: ConsentProps): JSX.Element {
  return (
    <Layout title="Approve access?">
      <section class="card">
        <h1>Approve access?</h1>
        <p>A workload is asking for a token on your behalf. Approve only if you started this.</p>
        <dl class="facts">
          <dt>Workload</dt>
          <dd class="mono workload">{breakAtSlashes(props.workload)}</dd>
          <dt>Certificate SHA-256</dt>
          <dd class="mono small" safe>
            {props.fingerprint}
          </dd>
          <dt>Provider</dt>
          <dd safe>{props.provider}</dd>
          <dt>It can reach</dt>
          <dd>
            {props.upstreams.length === 0 ? (
              <span class="muted">no hosts (the provider lists none)</span>
            ) : (
              <ul class="scopes">
                {props.upstreams.map((host) => (
                  <li class="mono" safe>
                    {host}
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt>Scopes</dt>
          <dd>
            {props.scopes.length === 0 ? (
              <span class="muted">provider defaults</span>
            ) : (
              <ul class="scopes">
                {props.scopes.map((scope) => (
                  <li class="mono" safe>
                    {scope}
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt>Code</dt>
          <dd class="mono user-code" safe>
            {props.userCode}
          </dd>
          <dt>Time left</dt>
          <dd>
            <TimeLeft grantId={props.grantId} remainingMs={props.remainingMs} waiting={true} />
          </dd>
        </dl>
        <p class="hint">Check that the code matches the one your agent printed.</p>
        <p class="next" safe>
          {`Approve takes you to ${props.signIn} to sign in. After that, the agent can call ${
            props.upstreams.length === 0 ? "no host" : props.upstreams.join(", ")
          } as you, with the scopes above, through this broker; it never sees your password or token.`}
        </p>
        <div class="actions">
          <form method="post" action="/device/approve">
            <DecisionFields grantId={props.grantId} csrfToken={props.csrfToken} />
            <button type="submit" class="approve">
              Approve
            </button>
          </form>
          <form method="post" action="/device/deny">
            <DecisionFields grantId={props.grantId} csrfToken={props.csrfToken} />
            <button type="submit" class="deny">
              Deny
            </button>
          </form>
        </div>
      </section>
    </Layout>
  );
}
