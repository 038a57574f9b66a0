// One encode-and-write at a time per connection, and only once the socket has written what it
// was given. A worker runs up to inflight_chunks flushes at once (their confirmations overlap),
// but each encoded message (a chunk's size, plus framing) is held until the socket has passed it to the
// kernel: encoding the next chunk while the last one still waits in user space only adds
// another. With turns, a worker holds at most the message being written and the one being
// encoded (the peak RSS this bounds is in docs/PERFORMANCE.md), and the chunks
// still leave in the order their flushes started.
import type { Duplex } from 'node:stream';

export class WriteTurns {
  private readonly queue: Array<() => void> = [];
  private busy = false;
  private socket: Duplex | null = null;

  /** The open connection's socket; null while there is none (turns are then given at once). */
  setSocket(socket: Duplex | null): void {
    this.socket?.off('drain', this.next);
    this.socket = socket;
    socket?.on('drain', this.next);
    this.next();
  }

  /** Resolves when it is this caller's turn; the caller must end it with done(). */
  take(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.queue.push(resolve);
      this.next();
    });
  }

  /** The turn's message is written (or was not sent at all): the next caller may go. */
  done(): void {
    this.busy = false;
    this.next();
  }

  private readonly next = (): void => {
    if (this.busy || this.queue.length === 0) return;
    // writableNeedDrain: a write returned false and 'drain' (which calls next) has not come yet.
    if (this.socket !== null && !this.socket.destroyed && this.socket.writableNeedDrain) return;
    this.busy = true;
    this.queue.shift()!();
  };
}
