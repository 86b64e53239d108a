/** An imapflow client logged in to a test server (plain TCP on loopback unless `extra` says otherwise). */
import { ImapFlow, type ImapFlowOptions } from "imapflow";
import type { TestServer } from "./testServer.ts";

export async function imapflowClient(
  server: TestServer,
  extra: Partial<ImapFlowOptions> = {},
): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: "127.0.0.1",
    port: server.port,
    secure: false,
    auth: { user: server.user, pass: server.password },
    logger: false,
    ...extra,
  });
  await client.connect();
  return client;
}
