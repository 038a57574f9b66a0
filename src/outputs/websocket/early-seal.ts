// When the websocket output seals its open chunk before it is full or Flush comes (see
// docs/ARCHITECTURE.md, "When a chunk is sealed"). Flush is the longest a record waits, not
// the usual wait:
// - while a worker has nothing in flight, the open chunk is sealed as soon as the reads of this
//   event-loop turn are in it: at a trickle a record leaves within a millisecond instead of up
//   to Flush seconds later. Under load every worker is busy, so chunks grow to their size limit.
// - once nothing has been appended for INPUT_QUIET_MS: at the end of a burst its records leave
//   at once, instead of when the chunks ahead of them are confirmed (2M-record bench: the last
//   31,000 records ~330 → ~70 ms).
import { QuietTimer } from '../../quiet-timer.js';

const INPUT_QUIET_MS = 5;

export class EarlySeal {
  private scheduled = false;
  private readonly inputQuiet: QuietTimer;

  /** @param idle whether a worker has nothing in flight and no sealed chunk waits */
  constructor(private readonly seal: () => void, private readonly idle: () => boolean) {
    this.inputQuiet = new QuietTimer(INPUT_QUIET_MS, seal);
  }

  /** After every append to the open chunk. */
  appended(): void {
    this.inputQuiet.touch();
    if (this.scheduled || !this.idle()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.idle()) this.seal();
    });
  }

  stop(): void {
    this.inputQuiet.cancel();
  }
}
