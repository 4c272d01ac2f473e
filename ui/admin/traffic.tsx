/** @jsxImportSource @kitajs/html */
import { formatPercent, formatRate, formatTime } from "./format.ts";
import { type AdminChrome, AdminLayout, LivePanel } from "./layout.tsx";

/** Requests of the last minute for one provider, host and status class (or all of them). */
export interface TrafficRow {
  provider: string;
  host: string;
  statusClass: string;
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** A recent audit event, with the fields worth showing. */
export interface RecentEvent {
  /** Epoch ms. */
  at: number;
  event: string;
  fields: Readonly<Record<string, string>>;
}

export interface TrafficData {
  total: TrafficRow;
  rows: TrafficRow[];
  cacheHitRate: number | undefined;
  events: RecentEvent[];
}

export function TrafficPage({ chrome, data }: { chrome: AdminChrome; data: TrafficData }): JSX.Element {
  return (
    <AdminLayout title="Traffic" chrome={chrome} active="traffic">
      <h1>Traffic</h1>
      <LivePanel id="traffic" url="/admin/fragments/traffic" every="2s">
        <TrafficPanel data={data} />
      </LivePanel>
    </AdminLayout>
  );
}

export function TrafficPanel({ data }: { data: TrafficData }): JSX.Element {
  return (
    <>
      <div class="grid">
        <Stat label="requests / s (last minute)" value={formatRate(data.total.perSecond)} />
        <Stat label="p50 latency" value={`${data.total.p50Ms} ms`} />
        <Stat label="p99 latency" value={`${data.total.p99Ms} ms`} />
        <Stat label="verification-cache hit rate" value={formatPercent(data.cacheHitRate)} />
      </div>
      <section class="card table-wrap">
        <h2>By provider, upstream and status</h2>
        {data.rows.length === 0 ? (
          <p class="muted">No proxied requests in the last minute.</p>
        ) : (
          <>
            <TrafficTable rows={data.rows} />
            <p class="muted small legend">
              Provider “no valid wrapper”: refused before a provider was known (no token, or one that did not
              verify). Upstream “not allowed”: a host outside every allow-list, refused. Status is the class
              of the answer the agent got (4xx includes surrogate’s own refusals).
            </p>
          </>
        )}
      </section>
      <section class="card">
        <h2>Recent audit events</h2>
        <Events events={data.events} />
      </section>
    </>
  );
}

function Stat({ label, value }: { label: string; value: string }): JSX.Element {
  return (
    <section class="card">
      <div class="stat" safe>
        {value}
      </div>
      <div class="stat-label" safe>
        {label}
      </div>
    </section>
  );
}

function TrafficTable({ rows }: { rows: TrafficRow[] }): JSX.Element {
  return (
    <table>
      <thead>
        <tr>
          <th>Provider</th>
          <th>Upstream</th>
          <th>Status</th>
          <th class="num">req/s</th>
          <th class="num">p50 ms</th>
          <th class="num">p99 ms</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr>
            <td safe>{row.provider === "none" ? "no valid wrapper" : row.provider}</td>
            <td class="mono" safe>
              {row.host === "other" ? "not allowed" : row.host}
            </td>
            <td safe>{row.statusClass}</td>
            <td class="num" safe>
              {formatRate(row.perSecond)}
            </td>
            <td class="num" safe>
              {String(row.p50Ms)}
            </td>
            <td class="num" safe>
              {String(row.p99Ms)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Event fields may carry agent-supplied text (workload, scope): escaped. */
export function Events({ events }: { events: RecentEvent[] }): JSX.Element {
  if (events.length === 0) return <p class="muted">No events yet.</p>;
  return (
    <ul class="events">
      {events.map((event) => (
        <li>
          <span class="mono muted" safe>
            {formatTime(event.at)}
          </span>{" "}
          <strong safe>{event.event}</strong>{" "}
          <span class="mono small" safe>
            {Object.entries(event.fields)
              .map(([name, value]) => `${name}=${value}`)
              .join(" ")}
          </span>
        </li>
      ))}
    </ul>
  );
}
