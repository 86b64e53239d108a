/**
 * The caching body reader: a prefetch is only a head start. A body it cannot read (expunged and
 * deleted by another computer meanwhile, or not stored yet) must not reject the prefetch, whose
 * promise a caller may await only later: an unhandled rejection ends the whole server (the process
 * storm, test/cli/uidStormProcesses.test.ts, found the search index filler doing that). The read of
 * that body still fails, where a caller handles it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { NotFound } from "../../../src/errors.ts";
import { cachingBodyReader } from "../../../src/mail/read/bodyReader.ts";
import type { MessageMeta } from "../../../src/mail/metaCodec.ts";
import type { MessageStore } from "../../../src/mail/messageStore.ts";

const meta = (blob: string, size: number) => ({ blob, size, physicalSize: size }) as unknown as MessageMeta;

function storeWith(bodies: Map<string, Uint8Array>): MessageStore {
  const bodyRange = (m: MessageMeta, start: number, length: number) => {
    const body = bodies.get(m.blob);
    if (!body)
      return Promise.reject(new NotFound(`the body of a message is missing from storage (${m.blob})`));
    return Promise.resolve(body.subarray(start, start + length));
  };
  return { bodyRange } as unknown as MessageStore;
}

test("a prefetch that meets a missing body resolves; reading that body rejects with NotFound", async () => {
  const present = meta("mail/present", 5);
  const gone = meta("mail/gone", 7);
  const reader = cachingBodyReader(storeWith(new Map([["mail/present", new TextEncoder().encode("hello")]])));
  const prefetch = reader.prefetch([gone, present], 2);
  // As the search index filler does: other awaits before the prefetch is awaited.
  await new Promise((r) => setImmediate(r));
  await prefetch;
  assert.equal(new TextDecoder().decode(await reader.read(present, 1, 3)), "ell");
  await assert.rejects(reader.read(gone, 0, 7), NotFound);
});
