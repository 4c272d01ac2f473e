import type { ServerResponse } from "node:http";

/**
 * Connection-level headers belong to each hop (RFC 9110 §7.6.1); node:http sets its own, and a
 * handler's copy (e.g. an upstream's `transfer-encoding`) would corrupt the framing.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Writes status and headers, then streams the body, waiting for `drain` so nothing piles up in memory. */
export async function writeResponse(res: ServerResponse, response: Response, method: string): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie" || HOP_BY_HOP.has(name)) continue;
    res.setHeader(name, value);
  }
  // Headers joins repeated values with ", ", which breaks cookies (RFC 6265 §3): keep each one.
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (response.body === null || method === "HEAD") {
    await response.body?.cancel();
    res.end();
    return;
  }
  await pump(response.body, res);
}

async function pump(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } finally {
    // A no-op after the last chunk; otherwise tells the producer (e.g. an upstream fetch) to stop.
    await reader.cancel().catch(() => undefined);
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** RFC 9457 problem for a failure we do not describe to the client. */
export function writeServerError(res: ServerResponse): void {
  const body = JSON.stringify({
    type: "about:blank",
    title: "Internal Server Error",
    status: 500,
    code: "server_error",
  });
  res.writeHead(500, {
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
