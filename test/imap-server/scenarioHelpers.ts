/** Shared set-up for raw-IMAP scenario tests: a server, logged-in connections, appended messages. */
import { after, before } from "node:test";
import { RawImap } from "../support/rawImap.ts";
import { startTestServer, type TestServer } from "../support/testServer.ts";
import type { Store } from "../../src/storage/types.ts";

export function message(subject: string, body: string, extra = ""): string {
  return (
    `From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: ${subject}\r\n` +
    `Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}@example.org>\r\n${extra}\r\n${body}\r\n`
  );
}

/** One server for the whole file, started before its tests and closed after them. */
export function useServer(opts: { store?: () => Store; appendLimit?: number } = {}): {
  server: () => TestServer;
} {
  let server: TestServer | undefined;
  before(async () => {
    server = await startTestServer({
      ...(opts.store ? { store: opts.store() } : {}),
      ...(opts.appendLimit ? { appendLimit: opts.appendLimit } : {}),
    });
  });
  after(async () => {
    await server?.close();
  });
  return {
    server: () => {
      if (!server) throw new Error("server not started");
      return server;
    },
  };
}

export async function connected(server: TestServer): Promise<RawImap> {
  const c = await RawImap.connect(server.port);
  await c.readLine();
  return c;
}

export async function loggedIn(server: TestServer): Promise<RawImap> {
  const c = await connected(server);
  const r = await c.command(`LOGIN ${server.user} "${server.password}"`);
  if (!r.at(-1)!.includes("OK")) throw new Error(`login failed: ${r.join("\n")}`);
  return c;
}

/** APPENDs with a synchronizing literal, as most clients do; returns the tagged line. */
export async function appendRaw(
  c: RawImap,
  mailbox: string,
  raw: string,
  flags = "",
  date = "",
): Promise<string> {
  const tag = c.nextTag();
  const bytes = Buffer.from(raw);
  c.write(
    `${tag} APPEND ${mailbox}${flags ? ` (${flags})` : ""}${date ? ` "${date}"` : ""} {${bytes.length}}\r\n`,
  );
  const cont = await c.readLine();
  if (!cont.startsWith("+")) throw new Error(`no continuation: ${cont}`);
  c.write(Buffer.concat([bytes, Buffer.from("\r\n")]));
  const lines = await c.until(tag);
  return lines.at(-1)!;
}

export function tagged(lines: string[]): string {
  return lines.at(-1)!.replace(/^\S+ /, "");
}
