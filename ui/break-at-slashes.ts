import { escapeHtml } from "@kitajs/html";

/**
 * A SPIFFE ID or path, escaped, with a line-break opportunity (<wbr>) after each `/`: on a narrow
 * screen it wraps between path segments, not in the middle of one. The text itself is unchanged
 * (copying it gives the ID); the result is HTML, so insert it without `safe`.
 */
export function breakAtSlashes(text: string): string {
  return escapeHtml(text).replaceAll("/", "/<wbr>");
}
