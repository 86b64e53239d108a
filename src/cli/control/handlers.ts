/** What a running server answers on its control socket: status, and password changes on its own store. */
import { Invalid } from "../../errors.ts";
import type { Store } from "../../storage/types.ts";
import type { AccountDirectoryHandle, MailApi } from "../lateModules.ts";
import type { ControlHandler } from "./controlServer.ts";
import type { ServerStatus } from "./protocol.ts";

export function controlHandlers(opts: {
  store: Store;
  mail: MailApi;
  directory: AccountDirectoryHandle;
  status: () => Omit<ServerStatus, "storage" | "mailboxes">;
}): ControlHandler {
  return async (request) => {
    switch (request.op) {
      case "status": {
        const storage = await storageCheck(opts.store);
        const status: ServerStatus = { ...opts.status(), storage };
        if (request.password !== undefined) {
          // Through the directory: the same account the IMAP sessions use, with its failure delays.
          const account = await opts.directory.login(opts.directory.user, request.password);
          status.mailboxes = (await account.summary()).mailboxes;
        }
        return status;
      }
      case "passwd": {
        const { action, current, next } = request;
        if (action !== "remove" && !next) throw new Invalid("a new password is needed");
        if (action === "add") await opts.mail.addPassword(opts.store, current, next!);
        else if (action === "change") await opts.mail.changePassword(opts.store, current, next!);
        else if (action === "remove") await opts.mail.removePassword(opts.store, current);
        else throw new Invalid(`unknown passwd action`);
        // Logins are checked against a cached hash of the last good password: drop it.
        opts.directory.forgetVerifier();
        return { done: action };
      }
      default:
        throw new Invalid("unknown control request");
    }
  };
}

export async function storageCheck(store: Store): Promise<{ reachable: boolean; detail: string }> {
  try {
    const head = await store.blobs.head("keys/root");
    return {
      reachable: true,
      detail: head ? "reachable, account present" : "reachable, but it holds no account",
    };
  } catch (err) {
    return { reachable: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
