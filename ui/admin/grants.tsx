/** @jsxImportSource @kitajs/html */

import { breakAtSlashes } from "../break-at-slashes.ts";
import { formatAge } from "./format.ts";
import { type AdminChrome, AdminLayout, LivePanel } from "./layout.tsx";

/** One row of the grants page. */
export interface GrantView {
  id: string;
  workload: string;
  provider: string;
  scope: string[];
  /** As the person types it (`ABCD-EFGH`). */
  userCode: string;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number;
  status: "pending" | "approved" | "denied" | "expired";
  /** Approved and the wrapper minted, waiting for the agent to collect it. */
  issued: boolean;
}

/** Grants must show up within 2 s of creation: poll every second. */
export const GRANTS_POLL = "1s";

export function GrantsPage(props: { chrome: AdminChrome; grants: GrantView[]; now: number }): JSX.Element {
  return (
    <AdminLayout title="Grants" chrome={props.chrome} active="grants">
      <h1>Grants</h1>
      <LivePanel id="grants" url="/admin/fragments/grants" every={GRANTS_POLL}>
        <GrantsTable grants={props.grants} now={props.now} />
      </LivePanel>
    </AdminLayout>
  );
}

/** Workload and scopes come from agents: every value is escaped (`safe`). */
export function GrantsTable({ grants, now }: { grants: GrantView[]; now: number }): JSX.Element {
  if (grants.length === 0)
    return (
      <section class="card">
        <p class="muted">No grants right now.</p>
      </section>
    );
  return (
    <section class="card table-wrap">
      <table>
        <thead>
          <tr>
            <th>Status</th>
            <th>Workload</th>
            <th>Provider</th>
            <th>Scopes</th>
            <th>User code</th>
            <th class="num">Age</th>
          </tr>
        </thead>
        <tbody>
          {grants.map((grant) => (
            <tr data-grant={grant.id}>
              <td>
                <span class={`pill ${grant.status}`} safe>
                  {grant.status}
                </span>
                {grant.issued ? <div class="small muted">token issued</div> : ""}
              </td>
              <td class="mono wrap workload">{breakAtSlashes(grant.workload)}</td>
              <td safe>{grant.provider}</td>
              <td class="mono wrap" safe>
                {grant.scope.join(" ")}
              </td>
              <td class="mono" safe>
                {grant.userCode}
              </td>
              <td class="num" safe>
                {formatAge(now - grant.createdAt)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
