/**
 * Is this text an endpoint URL, and does anything answer there? Used by init as each answer is
 * typed, and by doctor. Any HTTP answer, even an error status, means the host is reachable; its
 * Date header gives the clock skew that S3 signatures are sensitive to.
 */

const TIMEOUT_MS = 5_000;

/** The URL, or a message saying what is wrong with the text. */
export function parseEndpoint(text: string): URL | string {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return `"${trimmed}" is not a URL: type it in full, for example http://127.0.0.1:3900`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `"${trimmed}" is not an http:// or https:// URL: for example http://127.0.0.1:3900`;
  if (url.search || url.hash || url.username || url.password)
    return `"${trimmed}" must not carry a query, a fragment or credentials: give only scheme, host, port (and path)`;
  return url;
}

/** The URL as stored: no trailing slash. */
export function normalizeEndpoint(url: URL): string {
  return url.href.replace(/\/+$/, "");
}

export type Reachability =
  { ok: true; status: number; serverDate?: Date; skewMs?: number } | { ok: false; message: string };

export async function checkReachable(endpoint: string, what = "the endpoint"): Promise<Reachability> {
  const sentAt = Date.now();
  try {
    const res = await fetch(endpoint, {
      method: "GET",
      signal: AbortSignal.timeout(TIMEOUT_MS),
      redirect: "manual",
    });
    const receivedAt = Date.now();
    await res.body?.cancel().catch(() => {}); // only the status and Date header matter here
    const dateHeader = res.headers.get("date");
    const serverDate = dateHeader ? new Date(dateHeader) : undefined;
    const valid = serverDate && !Number.isNaN(serverDate.getTime());
    // The Date header has one-second resolution: compare it with the middle of the round trip.
    const skewMs = valid ? serverDate.getTime() - (sentAt + receivedAt) / 2 : undefined;
    return { ok: true, status: res.status, ...(valid ? { serverDate, skewMs } : {}) };
  } catch (err) {
    return { ok: false, message: `cannot reach ${what} at ${endpoint}: ${networkReason(err)}` };
  }
}

export function networkReason(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError")
    return `no answer within ${TIMEOUT_MS / 1000} s. Is the host up, and the port right?`;
  // undici refuses ports browsers block (fetch spec "bad port"), such as 1, 25, 143 or 6000.
  if (/bad port/i.test(e?.cause?.message ?? (err instanceof Error ? err.message : "")))
    return "that port is one the HTTP client refuses to use (fetch's blocked ports). Use the port your host really serves.";
  const code = e?.cause?.code ?? e?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused. Is it running, and is the port right?";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "no such host name. Check the spelling.";
    case "ECONNRESET":
      return "the connection was reset. Is it the right port (http vs https)?";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to the host. Check the network.";
    case "CERT_HAS_EXPIRED":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      return `its TLS certificate is not trusted (${code}).`;
    default:
      return e?.cause?.message ?? (err instanceof Error ? err.message : String(err));
  }
}
