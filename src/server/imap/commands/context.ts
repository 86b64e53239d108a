/**
 * What a command handler gets: the session, its output, the tag, and a way to read raw lines from
 * the client (IDLE's DONE, AUTHENTICATE's response). Handlers return the tagged result; they throw
 * ImapError for a refusal and let lower-layer errors through to resultForError.
 */
import type { Command, CommandName } from "../parser/types.ts";
import type { TaggedResult } from "../protocol/errorResponse.ts";
import type { ResponseWriter } from "../protocol/responseWriter.ts";
import type { Session, SessionState } from "../session/session.ts";

export interface CommandContext {
  session: Session;
  out: ResponseWriter;
  tag: string;
  /** One raw line from the client, or null when it went away. */
  readLine(): Promise<string | null>;
  /** Sends "+ text". */
  continuation(text: string): Promise<void>;
  /** STARTTLS: upgrades the connection once the tagged OK has been sent. */
  startTlsAfterResponse(): void;
}

export type CommandOf<N extends CommandName> = Extract<Command, { name: N }>;

export interface CommandHandler<N extends CommandName = CommandName> {
  /** States in which the command is allowed (RFC 3501 §6). */
  states: SessionState[];
  run(ctx: CommandContext, cmd: CommandOf<N>): Promise<TaggedResult>;
}

export const ANY: SessionState[] = ["notAuthenticated", "authenticated", "selected"];
export const NOT_AUTHENTICATED: SessionState[] = ["notAuthenticated"];
export const AUTHENTICATED: SessionState[] = ["authenticated", "selected"];
export const SELECTED: SessionState[] = ["selected"];

/** Any handler, as the dispatch table holds it; the connection passes the command of its name. */
export interface SomeHandler {
  states: SessionState[];
  run(ctx: CommandContext, cmd: never): Promise<TaggedResult>;
}
