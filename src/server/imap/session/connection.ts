/**
 * One client connection: greets, then reads commands one at a time (pipelined ones wait their
 * turn, except APPENDs: see `overlap`), checks each against the session state, runs its handler,
 * reports what changed in the selected mailbox, and answers with the tagged result. Nothing a client sends can crash it: bad
 * input gets BAD or NO, and unexpected errors become NO [SERVERBUG] with the connection kept.
 */
import type { Socket } from "node:net";
import { TLSSocket, type SecureContext } from "node:tls";
import { CommandReader } from "../parser/commandReader.ts";
import type { Command, ParseFailure, TaggedCommand } from "../parser/types.ts";
import { ResponseWriter } from "../protocol/responseWriter.ts";
import { Session, type ServerContext } from "./session.ts";
import { bad, formatTagged, resultForError, type TaggedResult } from "../protocol/errorResponse.ts";
import { HANDLERS } from "../commands/index.ts";
import type { CommandContext } from "../commands/context.ts";
import { capabilityList } from "../commands/anyState.ts";

/** Commands during which an expunge must not be reported (RFC 3501 §7.4.1). */
const NO_EXPUNGE_REPORT = new Set<Command["name"]>(["FETCH", "STORE", "SEARCH", "SORT", "THREAD"]);

/**
 * Pipelined APPENDs running at once: the mailbox writes them together (one op row, bodies a few
 * at a time) instead of one round trip to storage each.
 */
const MAX_OVERLAPPED_APPENDS = 32;

/**
 * ...and while their messages come to at most this many bytes. Each message is held whole until
 * it is stored (the literal, its sealed body, its index), so 32 large ones at once could hold 32 x
 * APPENDLIMIT several times over: 24 pipelined messages of 4 MB took the server from ~72 MB to
 * ~290 MB (issue 11). One that would pass this waits until those running are answered and runs
 * alone, and nothing further is read meanwhile; 32 messages of the bench corpus's average size
 * (~40 kB) stay far below it.
 */
const MAX_OVERLAPPED_APPEND_BYTES = 4 * 1024 * 1024;

/** RFC 3501 §5.4: at least 30 minutes before an idle client is logged out (once logged in). */
const AUTOLOGOUT_MS = 31 * 60_000;

/** After our last words, how long a client has to close its side before the socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;

export interface ConnectionOptions {
  server: ServerContext;
  secureContext?: SecureContext;
  maxLineBytes?: number;
  /**
   * Before login, the connection closes after this long without input (RFC 3501's 30 minutes
   * are for authenticated sessions); default 60 s.
   */
  loginIdleTimeoutMs?: number;
}

export class Connection {
  private socket: Socket;
  private readonly reader: CommandReader;
  private readonly out: ResponseWriter;
  private readonly session: Session;
  /** A command other than IDLE is running: a shutdown waits for it. */
  private busy = false;
  private stopping = false;
  /** APPENDs started and not answered yet, and the chain that answers them in order. */
  private overlapped = 0;
  /** The bytes of the messages of those APPENDs. */
  private overlappedBytes = 0;
  private answering: Promise<void> = Promise.resolve();

  constructor(
    socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.socket = socket;
    // Replies are already coalesced (ResponseWriter); Nagle would hold each reply's last segment
    // until the client's delayed ACK, about 40 ms per command.
    socket.setNoDelay(true);
    this.out = new ResponseWriter(socket);
    this.session = new Session(opts.server, this.out);
    this.reader = new CommandReader(socket, {
      appendLimit: opts.server.appendLimit,
      loggedIn: () => this.loggedIn,
      utf8Names: () => this.session.utf8Names,
      ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}),
      continuation: (text: string) => {
        void this.out.line(`+ ${text}`);
      },
    });
    socket.on("timeout", this.onIdle);
    this.armIdleTimer();
    socket.on("error", (err) => opts.server.log("debug", `client socket error: ${err.message}`));
  }

  /** Serves the connection until the client leaves or logs out. */
  async serve(): Promise<void> {
    const caps = capabilityList(this.session);
    await this.out.untagged(`OK [CAPABILITY ${caps}] aerogramme-local ready`);
    try {
      while (this.session.state !== "logout" && !this.out.isClosed) {
        const next = await this.reader.next();
        if (next === null || this.stopping) break;
        if ("command" in next && this.mayOverlap(next.command)) {
          this.overlap(next);
          continue;
        }
        await this.answered();
        if (this.stopping || this.out.isClosed) break;
        this.busy = !("command" in next) || next.command.name !== "IDLE";
        if ("command" in next) {
          await this.run(next);
        } else if (!(await this.refuse(next))) {
          break;
        }
        this.busy = false;
        if (this.stopping) {
          await this.out.untagged("BYE server shutting down");
          break;
        }
      }
      await this.answered();
    } catch (err) {
      this.opts.server.log("warn", `connection ended on error: ${(err as Error).message}`);
    } finally {
      await this.answering.catch(() => undefined);
      this.session.close();
      this.closeForGood();
    }
  }

  /**
   * Server shutdown: a command in flight finishes and is answered first; a connection waiting
   * for its next command (or in IDLE) is told BYE at once.
   */
  shutdown(): void {
    this.stopping = true;
    if (!this.busy) {
      void this.out.untagged("BYE server shutting down").finally(() => {
        this.out.flush(); // the BYE is still gathered: it goes before the end
        this.socket.end();
      });
    }
  }

  /** Answers a command the parser could not read; false when the stream cannot go on. */
  private async refuse(failure: ParseFailure): Promise<boolean> {
    if (failure.emptiesSavedSearch) this.session.savedSearch = [];
    const result: TaggedResult = {
      status: failure.status,
      text: failure.text,
      ...(failure.code ? { code: failure.code } : {}),
    };
    if (failure.tag) await this.out.line(formatTagged(failure.tag, result));
    else await this.out.untagged(`${result.status} ${result.code ? `[${result.code}] ` : ""}${result.text}`);
    if (failure.fatal) {
      const why = failure.code === "TOOBIG" ? "a literal too large to skip" : "too much malformed input";
      await this.out.untagged(`BYE ${why}; closing`);
      return false;
    }
    return true;
  }

  /**
   * RFC 3501 §5.5 lets a server run pipelined commands at once when no ambiguity results. APPENDs
   * need no sequence numbers and change no session state, so one that arrives while the client has
   * already sent more (or while others run) starts at once; answers still go out in command order.
   */
  private mayOverlap(command: Command): boolean {
    return (
      command.name === "APPEND" &&
      HANDLERS.APPEND.states.includes(this.session.state) &&
      this.overlapped < MAX_OVERLAPPED_APPENDS &&
      this.overlappedBytes + appendBytes(command) <= MAX_OVERLAPPED_APPEND_BYTES &&
      (this.overlapped > 0 || this.reader.hasBufferedInput)
    );
  }

  private overlap(next: TaggedCommand): void {
    this.busy = true;
    const bytes = appendBytes(next.command);
    this.overlapped += 1;
    this.overlappedBytes += bytes;
    const result = this.execute(next, () => undefined);
    this.answering = this.answering.then(async () => {
      try {
        await this.finish(next, await result);
      } finally {
        this.overlapped -= 1;
        this.overlappedBytes -= bytes;
      }
    });
    // Handled here so that a failed answer (the socket went away) is no unhandled rejection while
    // the loop waits for input; `answered` still throws it.
    this.answering.catch(() => undefined);
  }

  /** Waits until every overlapped APPEND is answered. */
  private async answered(): Promise<void> {
    if (this.overlapped === 0) return;
    await this.answering;
    this.busy = false;
  }

  private async run(next: TaggedCommand): Promise<void> {
    let upgrade = false;
    const result = await this.execute(next, () => {
      upgrade = true;
    });
    await this.finish(next, result);
    if (upgrade && result.status === "OK") await this.upgradeToTls();
  }

  /** Checks the command against the state and runs its handler; errors become a result. */
  private async execute({ tag, command }: TaggedCommand, onTlsUpgrade: () => void): Promise<TaggedResult> {
    const handler = HANDLERS[command.name];
    let result: TaggedResult;
    if (!handler.states.includes(this.session.state)) {
      result = bad(`${command.name} is not valid now: ${stateAdvice(handler.states, this.session.state)}`);
    } else {
      const ctx: CommandContext = {
        session: this.session,
        out: this.out,
        tag,
        readLine: () => this.reader.nextLine(),
        continuation: (text) => this.out.line(`+ ${text}`),
        startTlsAfterResponse: onTlsUpgrade,
      };
      try {
        const running = handler.run(ctx, command as never);
        // A command counts as client work from start to answer (writing replies included), so
        // background work (cache fill, search index) waits for a lull; IDLE waits on the client.
        const account = command.name === "IDLE" ? undefined : this.session.account;
        result = await (account ? account.messages.activity.track(running) : running);
      } catch (err) {
        result = resultForError(err, (level, msg) => this.opts.server.log(level, `${command.name}: ${msg}`));
      }
    }
    return result;
  }

  /** Reports what changed in the selected mailbox, then the tagged answer. */
  private async finish({ tag, command }: TaggedCommand, result: TaggedResult): Promise<void> {
    if (command.name === "LOGIN" || command.name === "AUTHENTICATE" || command.name === "UNAUTHENTICATE")
      this.armIdleTimer();
    if (this.session.state === "selected" && command.name !== "LOGOUT") {
      const keep = await this.session.reportChanges(!NO_EXPUNGE_REPORT.has(command.name));
      if (!keep) this.session.close();
    }
    await this.out.line(formatTagged(tag, result));
  }

  private async upgradeToTls(): Promise<void> {
    this.out.flush(); // the OK goes out in clear, before the handshake
    if (this.reader.hasBufferedInput) {
      // Bytes sent before the handshake could be a command-injection attempt (RFC 2595 §3.1).
      this.opts.server.log("warn", "client sent data after STARTTLS before the handshake; closing");
      this.socket.destroy();
      return;
    }
    const tls = new TLSSocket(this.socket, { isServer: true, secureContext: this.opts.secureContext! });
    // A client that fails the handshake or closes before its end gets no session: the command loop
    // ends on the plain socket's close. (Waiting on "secure" or "error" alone never ended when the
    // client simply went away, and a server's close then waited for this connection for ever.)
    const secured = await new Promise<boolean>((resolve) => {
      tls.once("secure", () => resolve(true));
      tls.once("error", (err: Error) => {
        this.opts.server.log("info", `TLS handshake failed: ${err.message}`);
        resolve(false);
      });
      tls.once("close", () => resolve(false));
    });
    if (!secured) {
      tls.destroy();
      this.socket.destroy();
      return;
    }
    this.socket.setTimeout(0); // the TLS socket sees the input from now on
    this.socket = tls;
    this.out.replaceSocket(tls);
    this.reader.replaceInput(tls);
    this.session.tlsActive = true;
    tls.on("timeout", this.onIdle);
    this.armIdleTimer();
  }

  private get loggedIn(): boolean {
    return this.session.state !== "notAuthenticated";
  }

  /** Closes the connection after a while without input: short before login, 31 min after. */
  private armIdleTimer(): void {
    this.socket.setTimeout(this.loggedIn ? AUTOLOGOUT_MS : this.loginIdleTimeoutMs);
  }

  private readonly onIdle = () => {
    const why = this.loggedIn
      ? "idle for too long"
      : `no login after ${Math.round(this.loginIdleTimeoutMs / 1000)} s without input`;
    void this.out.untagged(`BYE autologout: ${why}`).finally(() => this.closeForGood());
  };

  /**
   * Ends our side, and destroys the socket a little later whatever the client does: one that
   * never closes its side, or keeps sending a refused literal, holds no socket (nor a place
   * under the connection caps) for long.
   */
  private closeForGood(): void {
    const socket = this.socket;
    this.out.flush();
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private get loginIdleTimeoutMs(): number {
    return this.opts.loginIdleTimeoutMs ?? 60_000;
  }
}

/** The bytes of an APPEND's messages (0 for any other command). */
function appendBytes(command: Command): number {
  if (command.name !== "APPEND") return 0;
  let sum = 0;
  for (const m of command.messages) sum += m.message.length;
  return sum;
}

function stateAdvice(allowed: Session["state"][], state: Session["state"]): string {
  if (state === "notAuthenticated") return "log in first";
  if (allowed.includes("notAuthenticated")) return "already logged in";
  if (allowed.includes("selected") && !allowed.includes("authenticated")) return "select a mailbox first";
  return "not allowed in this state";
}
