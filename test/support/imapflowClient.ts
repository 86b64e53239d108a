/** An imapflow client logged in to a test server (plain TCP on loopback unless `extra` says otherwise). */
import { ImapFlow, type ImapFlowOptions } from "imapflow";

/** Where to log in: a TestServer, or a server the CLI started with an account of the test's. */
export interface ImapLogin {
  host?: string;
  port: number;
  user: string;
  password: string;
}

export async function imapflowClient(
  server: ImapLogin,
  extra: Partial<ImapFlowOptions> = {},
): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: server.host ?? "127.0.0.1",
    port: server.port,
    secure: false,
    auth: { user: server.user, pass: server.password },
    logger: false,
    ...extra,
  });
  await client.connect();
  return client;
}
