/**
 * Does the garage backend's K2V API answer, with these credentials, for this bucket? A ReadIndex
 * (Garage's doc/drafts/k2v-spec.md: `GET /<bucket>`) signed with SigV4 for the "k2v" service.
 */
import type { StorageCredentials } from "../../storage/backendConfig.ts";
import { networkReason } from "./endpointCheck.ts";

export type K2vVerdict = { ok: true } | { ok: false; message: string };

export async function checkK2v(
  target: { k2vEndpoint: string; region: string; bucket: string },
  credentials: StorageCredentials,
): Promise<K2vVerdict> {
  const { SigV4Signer } = await import("../../storage/net/sigV4.ts");
  const url = new URL(`${target.k2vEndpoint.replace(/\/+$/, "")}/${encodeURIComponent(target.bucket)}`);
  const headers = new SigV4Signer("k2v", target.region, credentials).sign({
    method: "GET",
    path: url.pathname,
    query: { limit: "1" },
    headers: { host: url.host },
    date: new Date(),
  });
  try {
    const res = await fetch(`${url.href}?limit=1`, {
      method: "GET",
      headers,
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel().catch(() => {}); // only the status matters here
    if (res.ok) return { ok: true };
    if (res.status === 403 || res.status === 401)
      return {
        ok: false,
        message: `K2V at ${target.k2vEndpoint} refused these credentials (HTTP ${res.status})`,
      };
    if (res.status === 404)
      return {
        ok: false,
        message: `K2V at ${target.k2vEndpoint} does not know the bucket "${target.bucket}" (HTTP 404)`,
      };
    return {
      ok: false,
      message: `K2V at ${target.k2vEndpoint} answered HTTP ${res.status}: is it Garage's K2V API (\`[k2v_api]\` in garage.toml)? Without K2V, use the s3 backend.`,
    };
  } catch (err) {
    return {
      ok: false,
      message: `cannot reach K2V at ${target.k2vEndpoint}: ${networkReason(err)} Enable \`[k2v_api]\` in garage.toml, or use the s3 backend.`,
    };
  }
}
