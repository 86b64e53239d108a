/** Runs async sections one at a time, in call order (a push must see the state the previous left). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    this.tail = result.catch(() => undefined); // the caller gets `result`'s error; the lock only waits
    return result;
  }
}
