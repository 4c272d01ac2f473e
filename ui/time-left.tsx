/** @jsxImportSource @kitajs/html */
/** How often the consent page refreshes its countdown (htmx `every`). */
export const TIME_LEFT_POLL = "every 5s";

export interface TimeLeftProps {
  grantId: string;
  /** Milliseconds until the grant expires; ≤ 0 when gone. */
  remainingMs: number;
  /** False once the grant was answered elsewhere: the countdown stops. */
  waiting: boolean;
}

export function formatRemaining(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s left` : `${seconds} s left`;
}

/**
 * The countdown fragment: the page renders it once and htmx swaps it for a fresh one every few
 * seconds. A fragment without `hx-trigger` (expired or answered) ends the polling.
 */
export function TimeLeft({ grantId, remainingMs, waiting }: TimeLeftProps): JSX.Element {
  if (!waiting)
    return (
      <p id="time-left" class="time-left done">
        This request has already been answered.
      </p>
    );
  if (remainingMs <= 0)
    return (
      <p id="time-left" class="time-left done">
        This request has expired.
      </p>
    );
  // The grant id is base64url from our own generator, so it is safe in the attribute; the query is
  // still built with URLSearchParams so nothing can break out of the parameter.
  const url = `/device/time?${new URLSearchParams({ grant: grantId })}`;
  return (
    <p id="time-left" class="time-left" hx-get={url} hx-trigger={TIME_LEFT_POLL} hx-swap="outerHTML">
      <span safe>{formatRemaining(remainingMs)}</span>
    </p>
  );
}
