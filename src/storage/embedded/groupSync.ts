/**
 * Shares one fsync among the callers that ask while another one runs (group commit): a caller that
 * arrives during a sync cannot rely on it, so it waits for the next one, which serves everyone who
 * arrived meanwhile.
 */
export class GroupSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly syncOnce: () => Promise<void>) {}

  sync(): Promise<void> {
    if (!this.running) return this.start();
    if (!this.next) {
      this.next = this.running.then(
        () => this.start(),
        () => this.start(),
      );
    }
    return this.next;
  }

  private start(): Promise<void> {
    this.next = undefined;
    const run = this.syncOnce();
    this.running = run;
    const clear = () => {
      if (this.running === run) this.running = undefined;
    };
    run.then(clear, clear);
    return run;
  }
}
