/** @jsxImportSource @kitajs/html */
import { Html } from "@kitajs/html";
import { Layout } from "./layout.tsx";

export interface DeviceFormProps {
  /** What the person typed last time, when it was not a valid code (escaped). */
  previous?: string;
  problem?: string;
}

/** A plain GET form: it works without JavaScript; htmx only adds the live countdown later. */
export function DeviceForm({ previous, problem }: DeviceFormProps): JSX.Element {
  return (
    <Layout title="Enter your code">
      <section class="card">
        <h1>Connect a workload</h1>
        <p>Type the code the agent showed you.</p>
        {problem === undefined ? (
          ""
        ) : (
          <p class="problem" safe>
            {problem}
          </p>
        )}
        <form method="get" action="/device" class="code-form">
          <label for="user_code">Code</label>
          <input
            id="user_code"
            name="user_code"
            type="text"
            inputmode="text"
            autocomplete="off"
            autocapitalize="characters"
            spellcheck="false"
            maxlength="32"
            placeholder="BCDF-GHJK"
            value={previous === undefined ? undefined : Html.escapeHtml(previous)}
            required
          />
          <button type="submit">Continue</button>
        </form>
      </section>
    </Layout>
  );
}
