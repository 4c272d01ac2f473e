import { renderUnicodeCompact } from "uqr";

/**
 * A terminal QR code of `text` (half-block characters, light modules drawn, so it reads on the
 * usual dark terminal). A border of 2 modules is what phone cameras need in practice; ecc M keeps
 * the code small enough for an 80-column terminal while tolerating a few smudged cells.
 */
export function renderQr(text: string): string {
  return `${renderUnicodeCompact(text, { border: 2, ecc: "M" })}\n`;
}
