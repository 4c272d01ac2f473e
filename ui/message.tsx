/** @jsxImportSource @kitajs/html */
import { Layout } from "./layout.tsx";

export type MessageTone = "ok" | "error" | "info";

export interface MessageProps {
  title: string;
  /** Plain sentences; escaped like everything else. */
  lines: readonly string[];
  tone: MessageTone;
  /** Stable error code, shown last and small: for whoever runs the broker, not the reader. */
  code?: string;
}

/** Done, denied and error pages: what happened and what to do next in words, the code last. */
export function MessagePage({ title, lines, tone, code }: MessageProps): JSX.Element {
  return (
    <Layout title={title}>
      <section class={`card ${tone}`}>
        <h1 safe>{title}</h1>
        {lines.map((line) => (
          <p safe>{line}</p>
        ))}
        {code === undefined ? (
          ""
        ) : (
          <p class="details">
            Details for your administrator: <code safe>{code}</code>
          </p>
        )}
      </section>
    </Layout>
  );
}
