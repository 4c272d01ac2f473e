/** @jsxImportSource @kitajs/html */
import { formatAge } from "./format.ts";
import { type AdminChrome, AdminLayout, LivePanel } from "./layout.tsx";

export interface IdpStatus {
  provider: string;
  kind: string;
  state: "ok" | "failing" | "unchecked" | "not_applicable";
  detail: string;
  /** Epoch ms of the last check. */
  checkedAt?: number;
}

export interface KeyAge {
  use: "signing" | "encryption";
  kid: string;
  /** The key that signs or encrypts now (the first of its set). */
  active: boolean;
  /** Epoch ms this process first saw the kid. */
  since: number;
}

export interface OverviewData {
  now: number;
  version: string;
  commit: string;
  instance: string;
  startedAt: number;
  web: string;
  agent: string;
  keys: KeyAge[];
  idps: IdpStatus[];
  rendezvous: { backend: string; size: number | undefined; up: boolean };
}

export function OverviewPage({ chrome, data }: { chrome: AdminChrome; data: OverviewData }): JSX.Element {
  return (
    <AdminLayout title="Overview" chrome={chrome} active="overview">
      <h1>Overview</h1>
      <LivePanel id="overview" url="/admin/fragments/overview" every="5s">
        <OverviewPanel data={data} />
      </LivePanel>
    </AdminLayout>
  );
}

export function OverviewPanel({ data }: { data: OverviewData }): JSX.Element {
  return (
    <>
      <div class="grid">
        <section class="card">
          <h2>Instance</h2>
          <dl class="facts">
            <dt>Version</dt>
            <dd class="mono" safe>{`${data.version} (${data.commit})`}</dd>
            <dt>Uptime</dt>
            <dd safe>{formatAge(data.now - data.startedAt)}</dd>
            <dt>Instance</dt>
            <dd class="mono" safe>
              {data.instance}
            </dd>
            <dt>Web</dt>
            <dd class="mono" safe>
              {data.web}
            </dd>
            <dt>Agent</dt>
            <dd class="mono" safe>
              {data.agent}
            </dd>
          </dl>
        </section>
        <section class="card">
          <h2>Rendezvous</h2>
          <dl class="facts">
            <dt>Backend</dt>
            <dd safe>{data.rendezvous.backend}</dd>
            <dt>Status</dt>
            <dd>
              <span class={`pill ${data.rendezvous.up ? "ok" : "failing"}`}>
                {data.rendezvous.up ? "reachable" : "unreachable"}
              </span>
            </dd>
            <dt>Live grants</dt>
            <dd safe>{data.rendezvous.size === undefined ? "—" : String(data.rendezvous.size)}</dd>
          </dl>
        </section>
      </div>
      <section class="card">
        <h2>Keys</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Use</th>
                <th>kid</th>
                <th>Role</th>
                <th>In use here for</th>
              </tr>
            </thead>
            <tbody>
              {data.keys.map((key) => (
                <tr>
                  <td safe>{key.use}</td>
                  <td class="mono wrap" safe>
                    {key.kid}
                  </td>
                  <td>{key.active ? (key.use === "signing" ? "signs" : "encrypts") : "verifies only"}</td>
                  <td safe>{formatAge(data.now - key.since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card">
        <h2>Providers</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Provider</th>
                <th>Kind</th>
                <th>Identity provider</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {data.idps.map((idp) => (
                <tr>
                  <td safe>{idp.provider}</td>
                  <td safe>{idp.kind}</td>
                  <td>
                    <span class={`pill ${idp.state}`} safe>
                      {idp.state.replace("_", " ")}
                    </span>
                  </td>
                  <td class="wrap" safe>
                    {idp.detail}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
