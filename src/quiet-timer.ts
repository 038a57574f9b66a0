// A timer that fires once a stream of events stops: `touch()` on every event, and the callback
// runs after a whole period without one. One interval per quiet-watch, not a timer per event:
// the data path only sets a flag.

/**
 * Calls `onQuiet` once, when nothing has happened for `quietMs` (give or take one period)
 * after `touch()`. `noteActivity()` postpones a pending call without arming one.
 */
export class QuietTimer {
  private activeSinceCheck = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly quietMs: number,
    private readonly onQuiet: () => void,
  ) {}

  /** Work was done: onQuiet follows once it stops. */
  touch(): void {
    this.activeSinceCheck = true;
    if (this.timer !== null) return;
    const timer = setInterval(() => {
      if (this.timer !== timer) return; // cancelled (a test clock may still tick it)
      if (this.activeSinceCheck) {
        this.activeSinceCheck = false;
        return;
      }
      this.cancel();
      this.onQuiet();
    }, this.quietMs);
    timer.unref(); // never what keeps the process alive
    this.timer = timer;
  }

  /** Postpones a pending onQuiet; arms none. */
  noteActivity(): void {
    this.activeSinceCheck = true;
  }

  cancel(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
