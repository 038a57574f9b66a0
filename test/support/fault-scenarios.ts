// Scripted faults on the server side, against the relay as a real child process: tcp JSON lines
// in at a steady rate, a real WebSocket server on 127.0.0.1 that goes down, flaps, stops
// reading or fails with 1011. Each returns a FaultReport; the tests (short variants) and
// `make faults` (full length) decide what to assert. Durations are parameters so one script
// serves both; before and after a fault, a script waits for records to reach the server (the
// load flows, the relay has recovered) rather than for a fixed time.
import { SeqLedger } from './fault-ledger.js';
import { RelayProcess, RssSampler, rssBytes, type RelaySpec } from './fault-relay.js';
import { report, Tally, type FaultReport } from './fault-report.js';
import { TcpSender } from './fault-senders.js';
import { sleep, waitFor } from './relay.js';
import { TestServer, type TestServerOptions } from './test-server.js';

/**
 * The relay the scenarios run: defaults except Retry_Limit, which is unlimited because the
 * promise under test (nothing acknowledged is lost) needs it; with the default (1) a chunk that
 * fails twice is dropped, counted as `retry_limit` (see serverDown's `retryLimit`).
 */
const baseOutput: Record<string, string> = { retry_limit: 'no_limits' };

export interface LoadOptions {
  /** Records per second offered by the tcp sender. */
  readonly rate?: number;
  /** How long to wait after the load for every acknowledged record. */
  readonly settleMs?: number;
}

/** Output counters read from the relay's /metrics, for the notes of a report. */
async function outputNotes(relay: RelayProcess): Promise<Record<string, number>> {
  const notes: Record<string, number> = {
    handshakes: await relay.metric('wsrelay_output_handshakes_total', { result: 'success' }),
    retries: await relay.metric('wsrelay_output_retries_total'),
    resent: await relay.metric('wsrelay_output_resent_records_total'),
  };
  const dropped = await relay.metric('wsrelay_output_dropped_records_total');
  if (dropped > 0) {
    for (const reason of ['retry_limit', 'shutdown', 'worker_crash']) {
      notes[`dropped ${reason}`] = await relay.metric('wsrelay_output_dropped_records_total', { reason });
    }
  }
  return notes;
}

/**
 * Runs `fault` against a relay fed by a tcp sender, then settles and reports. The fault gets
 * the server, the relay and the tally (to wait for deliveries); the sender runs from before it
 * starts until it ends.
 */
async function withLoad(
  scenario: string,
  spec: RelaySpec,
  serverOptions: TestServerOptions,
  options: LoadOptions,
  fault: (server: TestServer, relay: RelayProcess, tally: Tally) => Promise<Record<string, string | number>>,
): Promise<FaultReport> {
  const rate = options.rate ?? 5000;
  const startedAt = performance.now();
  const server = await TestServer.start(serverOptions);
  let relay: RelayProcess | null = null;
  try {
    relay = await RelayProcess.start({ ...spec, output: { ...baseOutput, ...spec.output } }, server.port);
    // Generous: the capacity only bounds the seq range, a sender stops at it.
    const ledger = new SeqLedger(rate * 120);
    const tally = new Tally(ledger, server);
    const sender = await TcpSender.start(relay.inputPort, ledger, { rate });
    let notes: Record<string, string | number>;
    try {
      notes = await fault(server, relay, tally);
    } finally {
      await sender.stop();
    }
    await tally.settle(options.settleMs ?? 30_000);
    Object.assign(notes, await outputNotes(relay), { 'server connections': server.connections });
    return report(scenario, startedAt, ledger, notes);
  } finally {
    if (relay) {
      const code = await relay.stop();
      if (code !== 0) process.stderr.write(`relay exit ${String(code)}:\n${relay.stderr}\n`);
    }
    await server.stop();
  }
}

/** The server stops (connections killed, port closed) for `downSeconds` under load. */
export function serverDown(
  downSeconds: number,
  options: LoadOptions & { retryLimit?: string } = {},
): Promise<FaultReport> {
  const limit = options.retryLimit ?? 'no_limits';
  const name = `server down ${downSeconds} s${limit === 'no_limits' ? '' : ` (retry_limit ${limit})`}`;
  return withLoad(
    name,
    { input: { plugin: 'tcp' }, output: { retry_limit: limit } },
    {},
    options,
    async (server, _relay, tally) => {
      await tally.delivering('the load to reach the server');
      await server.stop();
      await sleep(downSeconds * 1000);
      await server.listen();
      await tally.delivering('delivery after the restart');
      return {};
    },
  );
}

/** The server goes down and comes back every `periodSeconds` for `seconds`. */
export function serverFlapping(
  seconds: number,
  options: LoadOptions & { periodSeconds?: number } = {},
): Promise<FaultReport> {
  const period = (options.periodSeconds ?? 1) * 1000;
  return withLoad(
    `server flapping every ${period / 1000} s for ${seconds} s`,
    { input: { plugin: 'tcp' } },
    {},
    options,
    async (server, _relay, tally) => {
      const until = performance.now() + seconds * 1000;
      let outages = 0;
      while (performance.now() < until) {
        await sleep(period);
        await server.stop();
        outages++;
        await sleep(period);
        await server.listen();
      }
      await tally.delivering('delivery after the last outage');
      return { outages };
    },
  );
}

/**
 * The server completes every handshake and never reads. The relay's buffer fills to
 * mem_buf_limit, its input pauses, the sender's writes stall in the kernel; the relay's RSS
 * (from /proc) must stay bounded while the input stays paused for `seconds`. Then the server
 * reads again and everything arrives.
 */
export function serverNeverReads(
  seconds: number,
  options: LoadOptions & { memBufLimit?: string } = {},
): Promise<FaultReport> {
  const memBufLimit = options.memBufLimit ?? '8M';
  return withLoad(
    `server never reads, ${seconds} s of it with the input paused`,
    { input: { plugin: 'tcp' }, output: { mem_buf_limit: memBufLimit } },
    { reading: false },
    { rate: 50_000, ...options },
    async (server, relay, tally) => {
      const baseline = rssBytes(relay.pid);
      const sampler = new RssSampler(() => relay.pid);
      await waitFor(() => server.connections > 0, 10_000, 'the handshake');
      await relay.metricUntil('wsrelay_input_paused', (paused) => paused === 1, 30_000, 'the input to pause');
      // The fault itself: the relay stays stuck, and must stay paused and bounded throughout.
      await sleep(seconds * 1000);
      const peak = sampler.stop();
      const paused = await relay.metric('wsrelay_input_paused');
      const pausedSeconds = await relay.metric('wsrelay_input_paused_seconds_total');
      const acceptedWhileStuck = await relay.metric('wsrelay_input_records_total');
      server.setReading(true);
      await tally.delivering('delivery once the server reads');
      const mb = (bytes: number): number => Math.round(bytes / 1048576);
      return {
        'rss start MB': mb(baseline),
        'rss peak MB': mb(peak),
        'rss growth MB': mb(peak - baseline),
        'input paused': paused,
        'paused s': Math.round(pausedSeconds * 10) / 10,
        'records read while stuck': acceptedWhileStuck,
        mem_buf_limit: memBufLimit,
      };
    },
  );
}

/**
 * Every `every`-th message, the server closes the connection with 1011 (Internal Error)
 * instead of handling it: the message was written, never confirmed, and must be sent again.
 */
export function serverError1011(seconds: number, options: LoadOptions & { every?: number } = {}): Promise<FaultReport> {
  const every = options.every ?? 10;
  let closes = 0;
  return withLoad(
    `server closes with 1011 every ${every}th message for ${seconds} s`,
    { input: { plugin: 'tcp' } },
    { onMessage: (_message, index) => (index % every === every - 1 ? (closes++, 'error') : 'keep') },
    options,
    async () => {
      await sleep(seconds * 1000);
      return { '1011 closes': closes };
    },
  );
}
