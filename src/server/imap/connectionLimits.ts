/**
 * How many connections the server keeps open: in all, and from one client address. Each open
 * connection costs socket buffers, a session and up to a line of unread input, so without a
 * bound a client (or another user of this computer) could open them until memory runs out.
 * The counts are of open sockets, logged in or not.
 */

export interface ConnectionLimits {
  /** Open connections at most; default 100. */
  maxConnections?: number;
  /** Open connections from one client address at most; default 20 (Thunderbird opens up to 5). */
  maxConnectionsPerAddress?: number;
  /** A connection that has not logged in is closed after this long without input; default 60 s. */
  loginIdleTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_LIMITS: Required<ConnectionLimits> = {
  maxConnections: 100,
  maxConnectionsPerAddress: 20,
  loginIdleTimeoutMs: 60_000,
};

export class ConnectionCounter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Counts a new connection from `address`, or says why it is refused (then nothing is counted). */
  admit(address: string): string | undefined {
    if (this.total >= this.maxConnections) {
      return `too many connections (at most ${this.maxConnections}); try again later`;
    }
    const fromHere = this.perAddress.get(address) ?? 0;
    if (fromHere >= this.maxPerAddress) {
      return `too many connections from ${address} (at most ${this.maxPerAddress}); close some and try again`;
    }
    this.total++;
    this.perAddress.set(address, fromHere + 1);
    return undefined;
  }

  /** A connection counted by `admit` has closed. */
  release(address: string): void {
    this.total--;
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(address, left);
    else this.perAddress.delete(address);
  }
}
