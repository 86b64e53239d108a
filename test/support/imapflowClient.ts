/** An imapflow client logged in to a test server (plain TCP on loopback unless `extra` says otherwise). */
import { createRequire } from "node:module";
import type * as Imapflow from "imapflow";
import type { ImapFlowOptions } from "imapflow";

/**
 * imapflow's CommonJS build, through `require`: the same client as its ES module build, which
 * `import` would load (dist/esm, module by module through the ES module loader), at ~0.1 CPU s
 * less in every test process that talks IMAP (~0.11 s against ~0.21 s to load, Node 20).
 * Test files take `ImapFlow` from here, so that no process loads both builds.
 */
const imapflow = createRequire(import.meta.url)("imapflow") as typeof Imapflow;
export const ImapFlow = imapflow.ImapFlow;
export type ImapFlow = Imapflow.ImapFlow;

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
