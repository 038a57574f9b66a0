// Load for the fault scenarios: senders that write numbered records at a steady rate over real
// sockets and tell the ledger what was sent and what was acknowledged. Like a real client, a
// sender blocked by backpressure waits (it does not drop); an http sender retries a batch that
// got no 2xx, as Fluent Bit's and Vector's http outputs do.
import { connect, type Socket } from 'node:net';
import { request, Agent } from 'node:http';
import { recordLine, type SeqLedger } from './fault-ledger.js';

export interface Sender {
  /** Next seq to send: how many distinct records were handed to the sender's socket. */
  readonly nextSeq: number;
  /** Stops sending; resolves when every write has been acknowledged or failed. */
  stop(): Promise<void>;
}

export interface SenderOptions {
  /** Records per second offered (the sender falls behind when the relay pushes back). */
  readonly rate: number;
  /** Records per write (tcp) or per request (http). */
  readonly batch?: number;
  /** First seq (several senders in one scenario use disjoint ranges). */
  readonly firstSeq?: number;
}

const TICK_MS = 10;

/** The seq the offered rate has reached by now; the ledger's capacity ends the load. */
function dueSeq(firstSeq: number, startedAt: number, rate: number, capacity: number): number {
  return Math.min(capacity, firstSeq + Math.floor(((performance.now() - startedAt) / 1000) * rate));
}

function lines(from: number, count: number): string {
  let text = '';
  for (let seq = from; seq < from + count; seq++) text += recordLine(seq);
  return text;
}

/**
 * JSON lines over one TCP connection. A batch is acknowledged when its write callback runs:
 * the kernel has taken the bytes, which is all a tcp sender is ever told.
 */
export class TcpSender implements Sender {
  nextSeq: number;
  private readonly socket: Socket;
  private readonly batch: number;
  private readonly startedAt = performance.now();
  private readonly firstSeq: number;
  private timer: NodeJS.Timeout | null = null;
  private pendingWrites = 0;
  private failed = false;
  private writesDone: (() => void) | null = null;

  private constructor(
    port: number,
    private readonly ledger: SeqLedger,
    private readonly options: SenderOptions,
  ) {
    this.firstSeq = options.firstSeq ?? 0;
    this.nextSeq = this.firstSeq;
    this.batch = options.batch ?? 100;
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => {
      this.failed = true;
    });
    this.socket.on('drain', () => this.pump());
  }

  static async start(port: number, ledger: SeqLedger, options: SenderOptions): Promise<TcpSender> {
    const sender = new TcpSender(port, ledger, options);
    await new Promise<void>((resolve, reject) => {
      sender.socket.once('connect', resolve);
      sender.socket.once('error', reject);
    });
    sender.timer = setInterval(() => sender.pump(), TICK_MS);
    return sender;
  }

  private pump(): void {
    if (this.timer === null || this.failed) return;
    const due = dueSeq(this.firstSeq, this.startedAt, this.options.rate, this.ledger.capacity);
    while (this.nextSeq < due && !this.socket.writableNeedDrain) {
      const from = this.nextSeq;
      const count = Math.min(this.batch, due - from);
      this.nextSeq += count;
      this.ledger.sent(from, count);
      this.pendingWrites++;
      this.socket.write(lines(from, count), (error) => {
        if (!error) this.ledger.acknowledged(from, count);
        if (--this.pendingWrites === 0) this.writesDone?.();
      });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.pendingWrites > 0 && !this.failed) {
      await new Promise<void>((resolve) => {
        this.writesDone = resolve;
      });
    }
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 2000).unref();
    });
  }
}

/**
 * ndjson POSTs on keep-alive connections, one request in flight. A batch is acknowledged by a
 * 2xx (the relay answers only once the records are buffered, or stored with filesystem
 * storage); anything else — 503 while the relay pushes back, a refused or reset connection
 * while it restarts — is retried after a short pause.
 */
export class HttpSender implements Sender {
  nextSeq: number;
  /** Requests that got no 2xx (each was retried). */
  rejected = 0;
  /** Those answers by status (0: no answer: refused, reset, timed out). */
  readonly rejections: Record<number, number> = {};
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly batch: number;
  private readonly startedAt = performance.now();
  private readonly firstSeq: number;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly port: number,
    private readonly ledger: SeqLedger,
    private readonly options: SenderOptions,
    private readonly path = '/faults',
  ) {
    this.firstSeq = options.firstSeq ?? 0;
    this.nextSeq = this.firstSeq;
    this.batch = options.batch ?? 100;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const due = dueSeq(this.firstSeq, this.startedAt, this.options.rate, this.ledger.capacity);
      if (this.nextSeq >= due) {
        await new Promise((resolve) => setTimeout(resolve, TICK_MS));
        continue;
      }
      const from = this.nextSeq;
      const count = Math.min(this.batch, due - from);
      this.nextSeq += count;
      this.ledger.sent(from, count);
      const body = lines(from, count);
      // The same batch again until it is acknowledged (or the scenario ends).
      while (this.running) {
        const status = await this.post(body);
        if (status >= 200 && status < 300) {
          this.ledger.acknowledged(from, count);
          break;
        }
        this.rejected++;
        this.rejections[status] = (this.rejections[status] ?? 0) + 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** The status, or 0 when the request failed without an answer. */
  private post(body: string): Promise<number> {
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: this.path,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(0));
        },
      );
      req.setTimeout(10_000, () => req.destroy());
      req.on('error', () => resolve(0));
      req.end(body);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.agent.destroy();
  }
}
