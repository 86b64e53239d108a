/** Every command's handler, by name: the one table the connection dispatches on. */
import type { CommandName } from "../parser/types.ts";
import { capability, id, logout, noop } from "./anyState.ts";
import { append } from "./append.ts";
import { check, close, expunge } from "./closeExpunge.ts";
import type { SomeHandler } from "./context.ts";
import { copyMove } from "./copyMove.ts";
import { fetch } from "./fetch.ts";
import { idle } from "./idle.ts";
import { list } from "./list.ts";
import { lsub } from "./lsub.ts";
import { enable } from "./enable.ts";
import { authenticate, login } from "./login.ts";
import { create, del, rename, subscribe } from "./mailboxes.ts";
import { namespace } from "./namespace.ts";
import { search } from "./search.ts";
import { select } from "./select.ts";
import { sort } from "./sort.ts";
import { starttls } from "./starttls.ts";
import { status } from "./status.ts";
import { store } from "./store.ts";
import { thread } from "./thread.ts";
import { unauthenticate } from "./unauthenticate.ts";

export const HANDLERS: Record<CommandName, SomeHandler> = {
  CAPABILITY: capability,
  NOOP: noop,
  LOGOUT: logout,
  ID: id,
  STARTTLS: starttls,
  LOGIN: login,
  AUTHENTICATE: authenticate,
  ENABLE: enable,
  SELECT: select,
  EXAMINE: select,
  CREATE: create,
  DELETE: del,
  RENAME: rename,
  SUBSCRIBE: subscribe,
  UNSUBSCRIBE: subscribe,
  LIST: list,
  LSUB: lsub,
  NAMESPACE: namespace,
  UNAUTHENTICATE: unauthenticate,
  STATUS: status,
  APPEND: append,
  IDLE: idle,
  CHECK: check,
  CLOSE: close,
  UNSELECT: close,
  EXPUNGE: expunge,
  SEARCH: search,
  SORT: sort,
  THREAD: thread,
  FETCH: fetch,
  STORE: store,
  COPY: copyMove,
  MOVE: copyMove,
};
