// The last N messages, for replay to new clients (fluent-plugin-websocket's buffered_messages)
// and for resuming after a reconnect (`?last_id=`, Vector's `last_received`). Ids are
// consecutive, so finding where a client left off is arithmetic, not a search.
import type { Message } from './messages.js';

export class ReplayRing {
  private readonly items: Message[] = [];
  private start = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  push(messages: readonly Message[]): void {
    for (const message of messages) {
      if (this.items.length < this.capacity) {
        this.items.push(message);
      } else {
        this.items[this.start] = message;
        this.start = this.start + 1 === this.capacity ? 0 : this.start + 1;
      }
    }
  }

  /**
   * What a client that last saw `lastId` missed: the messages after it when it is still in
   * the ring (or is the one just before the oldest), else everything kept — it missed more
   * than the ring holds, or the id comes from an earlier run of the relay.
   */
  after(lastId: number | null): Message[] {
    const size = this.items.length;
    if (size === 0) return [];
    const oldest = this.items[this.start]!.id;
    const newest = oldest + size - 1;
    const skip = lastId !== null && lastId >= oldest - 1 && lastId <= newest ? lastId - oldest + 1 : 0;
    const out = new Array<Message>(size - skip);
    for (let i = skip; i < size; i++) out[i - skip] = this.items[(this.start + i) % size]!;
    return out;
  }
}
