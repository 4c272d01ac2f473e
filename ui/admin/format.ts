/** Small text formatters for the admin pages (pure, so both pages and tests use them). */

/** `42 s`, `5 min`, `3 h 20 min`, `2 d 4 h`. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function formatRate(perSecond: number): string {
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(2);
}

export function formatPercent(ratio: number | undefined): string {
  return ratio === undefined ? "—" : `${(ratio * 100).toFixed(1)} %`;
}

export function formatTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(11, 19);
}
