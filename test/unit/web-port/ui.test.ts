import { describe, expect, test } from "bun:test";
import { TrafficPanel } from "../../../ui/admin/traffic.tsx";
import { ConsentPage } from "../../../ui/consent.tsx";
import { DeviceForm } from "../../../ui/device-form.tsx";
import { MessagePage } from "../../../ui/message.tsx";
import { formatRemaining, TimeLeft } from "../../../ui/time-left.tsx";

const HOSTILE = `<script>alert("x")</script>"'&`;

describe("templates escape every inserted value", () => {
  test("consent page: workload, fingerprint, provider, scopes, code", async () => {
    const html = await ConsentPage({
      grantId: "AAAAAAAAAAAAAAAAAAAAAA",
      workload: HOSTILE,
      fingerprint: HOSTILE,
      provider: HOSTILE,
      signIn: HOSTILE,
      upstreams: [HOSTILE],
      scopes: [HOSTILE],
      userCode: HOSTILE,
      remainingMs: 1000,
      csrfToken: "t",
    });
    expect(html).not.toContain("<script>alert");
    // fingerprint, provider, sign-in, scope, code, the upstream twice (list and sentence); the
    // workload's copy has a line-break opportunity after its "/".
    expect(html.match(/&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&quot;&#x27;&amp;/g)?.length).toBe(
      7,
    );
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/<wbr>script&gt;");
  });

  test("message page: title, lines and code", async () => {
    const html = await MessagePage({ title: HOSTILE, lines: [HOSTILE], tone: "error", code: HOSTILE });
    expect(html).not.toContain("<script>alert");
    expect(html).toContain("&lt;script&gt;");
  });

  test("device form: the echoed entry in an attribute and the problem text", async () => {
    const html = await DeviceForm({ previous: HOSTILE, problem: HOSTILE });
    expect(html).not.toContain("<script>alert");
    expect(html).toContain(`value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&quot;&#x27;&amp;"`);
  });

  test("time-left fragment: the grant id cannot break out of the hx-get attribute", async () => {
    const html = await TimeLeft({ grantId: `a" onclick="x`, remainingMs: 5000, waiting: true });
    expect(html).not.toContain('" onclick="');
    expect(html).toContain("grant=a%22+onclick%3D%22x");
  });

  test("remaining time is shown in minutes and seconds, never negative", () => {
    expect(formatRemaining(125_000)).toBe("2 min 5 s left");
    expect(formatRemaining(999)).toBe("1 s left");
    expect(formatRemaining(-5)).toBe("0 s left");
  });
});

describe("admin traffic table names its catch-all rows in words", () => {
  test("provider none / upstream other / 4xx reads as a refusal with a legend", async () => {
    const row = {
      provider: "none",
      host: "other",
      statusClass: "4xx",
      count: 3,
      perSecond: 0.05,
      p50Ms: 1,
      p99Ms: 2,
    };
    const html = await TrafficPanel({
      data: { total: row, rows: [row], cacheHitRate: undefined, events: [] },
    });
    expect(html).toContain("<td>no valid wrapper</td>");
    expect(html).toContain(">not allowed</td>");
    expect(html).toContain("refused before a provider was known");
    expect(html).not.toContain("<td>none</td>");
  });
});
