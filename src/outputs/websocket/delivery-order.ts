// Ordered delivery: with `workers 1` chunks must reach the server in id order, retries included
// (what a peer that replays or diffs the stream needs). Both thread sides apply the rule, so it
// lives here, beside protocol.ts, and nowhere else.
//
// The rule is kept with a *delivery epoch*: a count of the failed attempts the main thread has
// processed. Each processed failure ends an epoch, because the failed chunk goes back into the
// queue ahead of every later chunk. Every task carries the epoch it was dispatched in; the worker
// counts the epochs it has ended itself (one per failure it returns). Three rules follow:
//
// 1. (main) A chunk waiting out its backoff holds back every chunk after it.
// 2. (main) A retry waits until every earlier chunk in flight has its outcome: that one may fail
//    too (its connection just broke), and its retry must go first. Its failure can come back
//    later than this one's (a write refused at once, a confirmation lost with the connection).
// 3. (worker) A first attempt dispatched in an epoch the worker has already ended was sent before
//    the main thread knew of a failure that must be retried first: sending it would overtake that
//    retry, so it is `held` (returned unsent; not an attempt). Asked on arrival, after waiting for
//    its write turn and right before the write, since a failure may be returned while it waits
//    for the connection to reopen. Retries need no such check: the main thread sends them in id
//    order after the failures it has seen (rules 1 and 2).
//
// With several workers chunks are independent (each connection delivers in its own order), and
// every method here answers "no constraint".

/** The main thread's half: which waiting chunk may be dispatched now. */
export class DispatchOrder {
  /** Failed attempts processed so far: the epoch a task dispatched now belongs to. */
  private processedFailures = 0;
  private readonly inFlight = new Set<number>();

  constructor(readonly ordered: boolean) {}

  get epoch(): number {
    return this.processedFailures;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * What dispatch does with a waiting chunk: `send` it, `skip` it (backoff not over; later
   * chunks may still go) or `stop` (nothing after it may go now: rules 1 and 2).
   */
  decide(chunkId: number, isRetry: boolean, backoffOver: boolean): 'send' | 'skip' | 'stop' {
    if (!this.ordered) return backoffOver ? 'send' : 'skip';
    if (!backoffOver) return 'stop';
    if (isRetry && this.earlierInFlight(chunkId)) return 'stop';
    return 'send';
  }

  dispatched(chunkId: number): void {
    this.inFlight.add(chunkId);
  }

  /** The attempt has an outcome; `failed` when it has to be retried (or was given up). */
  settled(chunkId: number, failed: boolean): void {
    this.inFlight.delete(chunkId);
    if (failed) this.processedFailures++;
  }

  private earlierInFlight(chunkId: number): boolean {
    for (const id of this.inFlight) if (id < chunkId) return true;
    return false;
  }
}

/** The worker thread's half: whether a task would overtake the retry of a chunk it failed. */
export class WorkerOrder {
  /** Failures this worker has returned: the epochs it has ended. */
  private returnedFailures = 0;

  constructor(private readonly ordered: boolean) {}

  failureReturned(): void {
    this.returnedFailures++;
  }

  /** Rule 3: a first attempt from an epoch this worker has already ended must be held. */
  wouldOvertake(attempt: number, epoch: number): boolean {
    return this.ordered && attempt === 0 && epoch < this.returnedFailures;
  }
}
