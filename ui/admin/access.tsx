/** @jsxImportSource @kitajs/html */

import type { PropsWithChildren } from "@kitajs/html";
import { breakAtSlashes } from "../break-at-slashes.ts";
import { formatAge } from "./format.ts";
import { type AdminChrome, AdminLayout, LivePanel } from "./layout.tsx";

/** One recent login: who, for what, until when. Never a token. */
export interface LoginView {
  sid: string;
  workload: string;
  sub?: string;
  provider: string;
  scope: string;
  /** Epoch ms. */
  issuedAt: number;
  expiresAt: number;
  /** A rule already refuses this login's wrappers. */
  revoked: boolean;
}

/** One active revocation rule. */
export interface RuleView {
  id: string;
  /** `login`, `workload`, `sub`, `provider`. */
  scope: string;
  /** What it names, in words (`alice at github`). */
  target: string;
  by: string;
  /** Epoch ms. */
  createdAt: number;
}

export interface AccessData {
  logins: LoginView[];
  rules: RuleView[];
  providers: string[];
}

export const ACCESS_POLL = "5s";

export function AccessPage(props: { chrome: AdminChrome; data: AccessData; now: number }): JSX.Element {
  const { chrome, data, now } = props;
  return (
    <AdminLayout title="Access" chrome={chrome} active="access">
      <h1>Access</h1>
      <p class="muted">
        Revoking refuses, within 2 seconds on every instance, every wrapper it matches that was issued until
        now; the agent must log in again and its person approve again. New logins are not affected.
      </p>
      <LivePanel id="access" url="/admin/fragments/access" every={ACCESS_POLL}>
        <AccessPanel data={data} now={now} csrf={chrome.csrf} />
      </LivePanel>
      <RevokeForms csrf={chrome.csrf} providers={data.providers} />
    </AdminLayout>
  );
}

/** Workload, person, provider, scope and ids come from agents and IdPs: every value is escaped. */
export function AccessPanel(props: { data: AccessData; now: number; csrf: string }): JSX.Element {
  return (
    <>
      <section class="card table-wrap">
        <h2>Recent logins</h2>
        {props.data.logins.length === 0 ? (
          <p class="muted">No logins whose wrappers can still be valid.</p>
        ) : (
          <LoginsTable logins={props.data.logins} now={props.now} csrf={props.csrf} />
        )}
      </section>
      <section class="card table-wrap">
        <h2>Active revocations</h2>
        {props.data.rules.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <RulesTable rules={props.data.rules} now={props.now} />
        )}
      </section>
    </>
  );
}

function LoginsTable(props: { logins: LoginView[]; now: number; csrf: string }): JSX.Element {
  return (
    <table>
      <thead>
        <tr>
          <th>Workload</th>
          <th>Person</th>
          <th>Provider</th>
          <th>Scopes</th>
          <th class="num">Issued</th>
          <th class="num">Expires in</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.logins.map((login) => (
          <tr data-login={login.sid}>
            <td class="mono wrap workload">{breakAtSlashes(login.workload)}</td>
            <td class="mono wrap" safe>
              {login.sub ?? "—"}
            </td>
            <td safe>{login.provider}</td>
            <td class="mono wrap" safe>
              {login.scope}
            </td>
            <td class="num" safe>
              {`${formatAge(props.now - login.issuedAt)} ago`}
            </td>
            <td class="num" safe>
              {formatAge(login.expiresAt - props.now)}
            </td>
            <td>
              {login.revoked ? (
                <span class="pill denied">revoked</span>
              ) : (
                <RevokeForm csrf={props.csrf} fields={{ scope: "login", login: login.sid }} label="Revoke" />
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RulesTable(props: { rules: RuleView[]; now: number }): JSX.Element {
  return (
    <table>
      <thead>
        <tr>
          <th>Scope</th>
          <th>Refuses wrappers of</th>
          <th>By</th>
          <th class="num">Made</th>
        </tr>
      </thead>
      <tbody>
        {props.rules.map((rule) => (
          <tr data-rule={rule.id}>
            <td safe>{rule.scope}</td>
            <td class="mono wrap" safe>
              {rule.target}
            </td>
            <td safe>{rule.by}</td>
            <td class="num" safe>
              {`${formatAge(props.now - rule.createdAt)} ago`}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One POST to /admin/access/revoke: the CSRF token, the fixed fields, what the operator fills in, a button. */
function RevokeForm(
  props: PropsWithChildren<{ csrf: string; fields: Record<string, string>; label: string; class?: string }>,
): JSX.Element {
  return (
    <form method="post" action="/admin/access/revoke" class={props.class}>
      <input type="hidden" name="csrf" value={props.csrf} />
      {Object.entries(props.fields).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      {props.children}
      <button type="submit" class="deny" safe>
        {props.label}
      </button>
    </form>
  );
}

/** Plain forms (POST, then back here): they work with or without scripts. */
function RevokeForms(props: { csrf: string; providers: string[] }): JSX.Element {
  const options = props.providers.map((name) => (
    <option value={name} safe>
      {name}
    </option>
  ));
  return (
    <section class="card">
      <h2>Revoke more</h2>
      <RevokeForm
        csrf={props.csrf}
        fields={{ scope: "workload" }}
        label="Revoke workload"
        class="revoke-form"
      >
        <label>
          A workload (SPIFFE ID or glob, as in [[policy]])
          <input name="workload" required maxlength="2048" placeholder="spiffe://corp.example/agents/*" />
        </label>
      </RevokeForm>
      <RevokeForm csrf={props.csrf} fields={{ scope: "sub" }} label="Revoke person" class="revoke-form">
        <label>
          A person (their subject at the provider)
          <input name="sub" required maxlength="2048" />
        </label>
        <label>
          at
          <select name="provider">{options}</select>
        </label>
      </RevokeForm>
      <RevokeForm
        csrf={props.csrf}
        fields={{ scope: "provider" }}
        label="Revoke provider"
        class="revoke-form"
      >
        <label>
          Everyone at a provider
          <select name="provider">{options}</select>
        </label>
      </RevokeForm>
    </section>
  );
}
