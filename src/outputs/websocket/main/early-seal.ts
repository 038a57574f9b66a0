// When the websocket output seals its open chunk before it is full or Flush comes (see
// docs/ARCHITECTURE.md, "When a chunk is sealed"). Flush is the longest a record waits, not
// the usual wait:
// - while a worker has nothing in flight, the open chunk is sealed as soon as the reads of this
//   event-loop turn are in it: at a trickle a record leaves within a millisecond instead of up
//   to Flush seconds later. Under load every worker is busy, so chunks grow to their size limit.
// - once nothing has been appended for INPUT_QUIET_MS and no sealed chunk waits: at the end of
//   a burst its records leave as soon as the chunks ahead of them have been sent, instead of
//   once they are confirmed (2M-record bench: the last 31,000 records ~330 → ~70 ms). Not
//   while chunks wait: sealing then would only cut the stream into small chunks, each a
//   message and a confirmation, when a slow server is the limit.
import { QuietTimer } from '../../../quiet-timer.js';

const INPUT_QUIET_MS = 5;

export class EarlySeal {
  private scheduled = false;
  /** Nothing has been appended for INPUT_QUIET_MS. */
  private quiet = false;
  private readonly inputQuiet: QuietTimer;

  /**
   * @param idle a worker has nothing in flight and no sealed chunk waits
   * @param nothingWaits no sealed chunk waits to be sent
   */
  constructor(
    private readonly seal: () => void,
    private readonly idle: () => boolean,
    private readonly nothingWaits: () => boolean,
  ) {
    this.inputQuiet = new QuietTimer(INPUT_QUIET_MS, () => {
      this.quiet = true;
      this.sealIfQuiet();
    });
  }

  /** After every append to the open chunk. */
  appended(): void {
    this.quiet = false;
    this.inputQuiet.touch();
    if (this.scheduled || !this.idle()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.idle()) this.seal();
    });
  }

  /** After the output sent chunks: the quiet input's open chunk may go now. */
  sealIfQuiet(): void {
    if (this.quiet && this.nothingWaits()) this.seal();
  }

  stop(): void {
    this.inputQuiet.cancel();
  }
}
