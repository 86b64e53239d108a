/**
 * Version objects never change once written, so what was read once can be kept: a small cache,
 * least recently used first out, bounded in bytes. It turns a poll or a re-read into one listing.
 */
import type { VersionBody } from "./rowObjects.ts";

export class VersionCache {
  private readonly entries = new Map<string, VersionBody>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(name: string): VersionBody | undefined {
    const body = this.entries.get(name);
    if (body) {
      this.entries.delete(name);
      this.entries.set(name, body);
    }
    return body;
  }

  set(name: string, body: VersionBody): void {
    const size = sizeOf(name, body);
    if (size > this.maxBytes / 4) return; // one large value must not flush everything else
    this.delete(name);
    this.entries.set(name, body);
    this.bytes += size;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= sizeOf(oldest, old);
    }
  }

  delete(name: string): void {
    const body = this.entries.get(name);
    if (!body) return;
    this.entries.delete(name);
    this.bytes -= sizeOf(name, body);
  }
}

function sizeOf(name: string, body: VersionBody): number {
  return name.length + (body.value?.length ?? 0) + body.supersedes.length * 28 + 64;
}
