/** @jsxImportSource @kitajs/html */
import { Layout } from "./layout.tsx";

export type MessageTone = "ok" | "error" | "info";

export interface MessageProps {
  title: string;
  /** Plain sentences; escaped like everything else. */
  lines: readonly string[];
  tone: MessageTone;
  /** Stable error code shown small, so a person can report it. */
  code?: string;
}

/** Done, denied and error pages. */
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
          <p class="code">
            Error code: <code safe>{code}</code>
          </p>
        )}
      </section>
    </Layout>
  );
}
