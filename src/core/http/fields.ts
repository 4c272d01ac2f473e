/**
 * The HTTP field grammar every part of surrogate checks against: the agent port's parser and
 * writer, the proxy's header filter and the injection templates. One definition, so a value one
 * layer accepts is never one another layer reads differently.
 */

/** RFC 9110 §5.6.2 `tchar`. */
const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
/** RFC 9110 §5.5 field-vchar, SP and HTAB, obs-text included; never CR, LF, NUL or other controls. */
const VALUE_CHAR = "[\\t\\x20-\\x7e\\x80-\\xff]";

/** RFC 9110 §5.6.2 `token`: field names (and methods). */
export const FIELD_NAME = new RegExp(`^${TCHAR}+$`);

/** RFC 9110 §5.5: visible characters, SP, HTAB and obs-text; never CR, LF, NUL or other controls. */
export const FIELD_VALUE = new RegExp(`^${VALUE_CHAR}*$`);

/**
 * The same two grammars matched in place: set `lastIndex`, `test` the whole text, and the run ends
 * at `lastIndex` (sticky). A parser checks a part of a head this way without copying it out first.
 */
export const FIELD_NAME_RUN = new RegExp(`${TCHAR}+`, "y");
export const FIELD_VALUE_RUN = new RegExp(`${VALUE_CHAR}*`, "y");

/**
 * RFC 9110 §7.6.1 connection-level fields, plus the non-standard `keep-alive` and
 * `proxy-connection` still seen in the wild: they describe one hop and are never forwarded.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
