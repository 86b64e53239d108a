/**
 * Drives a command in a real pseudo-terminal through tmux, the way a person types: send keys,
 * read the screen, wait (bounded) for a prompt. Each driver has its own tmux server socket, so
 * tests never touch a user's tmux sessions.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export class TmuxDriver {
  private constructor(private readonly socket: string) {}

  /** Starts `argv` in a 150x50 terminal; "EXIT:<code>" is printed when it ends. */
  static start(argv: string[], env: Record<string, string>): TmuxDriver {
    const socket = `agl-test-${process.pid}-${randomBytes(4).toString("hex")}`;
    const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const assignments = Object.entries(env)
      .map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`)
      .join(" ");
    // The pane stays open after the command ends, so its exit line can be read.
    const script = `env ${assignments} ${quoted}; echo EXIT:$?; sleep 120`;
    execFileSync("tmux", [
      "-L",
      socket,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      "w",
      "-x",
      "150",
      "-y",
      "50",
      script,
    ]);
    return new TmuxDriver(socket);
  }

  private tmux(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
  }

  /** The screen and its scroll-back, joined lines. */
  screen(): string {
    return this.tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", "w");
  }

  /** Waits until the screen matches (at most `timeoutMs`), polling every 100 ms. */
  async waitFor(pattern: RegExp | ((screen: string) => boolean), timeoutMs = 30_000): Promise<string> {
    const matches = typeof pattern === "function" ? pattern : (text: string) => pattern.test(text);
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
      const text = this.screen();
      if (matches(text)) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `the terminal never showed ${String(pattern)} within ${timeoutMs} ms. Screen:\n${this.screen()}`,
    );
  }

  /** Waits until `pattern` (a global RegExp) occurs at least `count` times on the screen. */
  async waitForCount(pattern: RegExp, count: number, timeoutMs = 30_000): Promise<string> {
    const global = new RegExp(
      pattern.source,
      pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`,
    );
    return this.waitFor((text) => (text.match(global)?.length ?? 0) >= count, timeoutMs);
  }

  /** Types text literally (no key names). */
  type(text: string): void {
    this.tmux("send-keys", "-t", "w", "-l", text);
  }

  /** Presses named keys: Enter, Down, C-u, C-c... */
  press(...keys: string[]): void {
    this.tmux("send-keys", "-t", "w", ...keys);
  }

  /** Clears the current input line and types an answer. */
  answer(text: string): void {
    this.press("C-u");
    this.type(text);
    this.press("Enter");
  }

  kill(): void {
    try {
      this.tmux("kill-server");
    } catch {
      // already gone
    }
  }
}
