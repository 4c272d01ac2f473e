/** The body of a raw HTTP/1.1 response (Content-Length framed or chunked, de-chunked). */
export function rawBody(raw: string): string {
  const end = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, end);
  let rest = raw.slice(end + 4);
  if (!/transfer-encoding: chunked/i.test(head)) return rest;
  let body = "";
  for (;;) {
    const line = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!(size > 0)) return body;
    body += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 4 + size);
  }
}
