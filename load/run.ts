// One run of one scenario: sink, relay and generator as separate processes on 127.0.0.1, timed
// from the generator's first byte to the sink's last record, relay sampled from /proc.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { kill, freePort, spawnNode, tailLines, waitForTcp, type Child } from './children.js';
import { machineBusyS, sampleProc, threadCpu, type ProcSample, type ThreadCpu } from './procstat.js';
import { asGeneratorMessage, asSinkMessage, type SinkStats } from './protocol.js';
import type { Scenario } from './scenarios.js';

export interface RunOptions {
  /** Project root: the cwd of every child (paths in relayArgs are relative to it). */
  readonly root: string;
  readonly records: number;
  readonly connections: number;
  /** Give up when the generator is done and the sink has made no progress for this long. */
  readonly idleMs: number;
  readonly sinkArgs: readonly string[];
}

export interface RunResult {
  readonly scenario: string;
  /** null: the run went through (complete or not); else why it could not be measured. */
  readonly error: string | null;
  readonly records: number;
  readonly complete: boolean;
  readonly elapsedS: number;
  /** Distinct records at the sink ÷ elapsed (server mode: those of the client that got fewest). */
  readonly recordsPerS: number;
  /** Records delivered ÷ elapsed, all clients together (= recordsPerS with one sink). */
  readonly deliveredPerS: number;
  /** WebSocket clients that read (1 unless server mode). */
  readonly clients: number;
  readonly inputMBps: number;
  readonly relayCpuS: number;
  readonly cpuUsPerRecord: number;
  readonly peakRssMB: number;
  readonly rssStartMB: number;
  readonly rssEndMB: number;
  /** Scenarios with `settle`: RSS once back within SETTLE_MARGIN of rssStartMB (or at the
   *  SETTLE_MAX_MS limit), and seconds after the run's end it took; null otherwise. */
  readonly settled: { readonly rssMB: number; readonly afterS: number } | null;
  readonly threads: ThreadCpu[];
  /** CPU the harness itself used (it shares the machine with the relay), seconds. */
  readonly generatorCpuS: number;
  readonly sinkCpuS: number;
  /** CPU used on the machine during the run by anything but relay, generator and sink (other
   *  people's builds and tests): when it is not small, the figures are not trustworthy. */
  readonly foreignCpuS: number;
  /** foreignCpuS above max(0.3 s, 5% of the machine over the timed part). */
  readonly disturbed: boolean;
  /** MB written but not yet at the sink when the generator finished (≈ what the relay and the
   *  kernel's socket buffers held then; the sink reports every 200 ms, so it is approximate). */
  readonly backlogMB: number;
  readonly sink: SinkStats | null;
  /** Things that looked wrong but did not stop the run. */
  readonly notes: string[];
  /** What the relay printed (it runs with -q, so anything here is worth reading). */
  readonly relayOutput: string;
}

/** `fraction`: how much of this run is done (records at the sink ÷ N), when known. */
export type Progress = (text: string, fraction?: number) => void;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A settling relay is back when its RSS is within this fraction of its RSS before the run. */
const SETTLE_MARGIN = 0.1;
const SETTLE_MAX_MS = 30_000;

/** Waits for the relay's RSS to come back near `startMB` (memory returns after a burst). */
async function settle(pid: number, startMB: number): Promise<{ rssMB: number; afterS: number }> {
  const t0 = performance.now();
  for (;;) {
    const rssMB = sampleProc(pid)?.rssMB ?? 0;
    const afterS = (performance.now() - t0) / 1000;
    if (rssMB <= startMB * (1 + SETTLE_MARGIN) || afterS * 1000 >= SETTLE_MAX_MS) return { rssMB, afterS };
    await sleep(250);
  }
}

/** Polls `cond` every 20 ms; resolves true when it holds, false on timeout or when `abort` holds. */
async function waitUntil(cond: () => boolean, timeoutMs: number, abort: () => boolean = () => false): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (abort() || Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

function emptyResult(scenario: string, records: number, error: string, relay: Child | null): RunResult {
  return {
    scenario,
    error,
    records,
    complete: false,
    elapsedS: 0,
    recordsPerS: 0,
    deliveredPerS: 0,
    clients: 0,
    inputMBps: 0,
    relayCpuS: 0,
    cpuUsPerRecord: 0,
    peakRssMB: 0,
    rssStartMB: 0,
    rssEndMB: 0,
    settled: null,
    threads: [],
    generatorCpuS: 0,
    sinkCpuS: 0,
    foreignCpuS: 0,
    disturbed: false,
    backlogMB: 0,
    sink: null,
    notes: [],
    relayOutput: relay ? relay.stderrTail().trim() : '',
  };
}

export async function runScenario(sc: Scenario, opt: RunOptions, progress: Progress): Promise<RunResult> {
  const n = sc.records(opt.records);
  // The whole run, start-up included, gets at most 60 s + 10 µs per record.
  const budgetMs = 60_000 + n * 0.01;
  const deadline = Date.now() + budgetMs;
  const children: Child[] = [];
  const notes: string[] = [];
  // Sink state, fed by IPC.
  let listening = false;
  let wsConnections = 0;
  let sinkUnique = 0;
  let lastSinkProgress = Date.now();
  // In an object: TypeScript does not see assignments made in the IPC callbacks.
  const reports: { complete: SinkStats | null; requested: SinkStats | null } = { complete: null, requested: null };
  // Generator state.
  let startedAt = 0;
  let genRecords = 0;
  let genBytes = 0;
  let genCpuS = 0;
  let genCpuTotalS = 0;
  let backlog = 0;
  let genDone = false;
  let lastGenProgress = Date.now();
  let genError = null as string | null; // set in the generator's message callback, which narrowing does not see
  let relay: Child | null = null;
  try {
    const outPort = await freePort();
    const inPort = await freePort();
    const script = sc.relayArgs(inPort, outPort)[0] ?? '';
    if (script.endsWith('.js') && !existsSync(path.join(opt.root, script))) {
      return emptyResult(sc.name, n, `relay failed to start: ${script} not found (run make build)`, null);
    }
    const watch = (sink: Child): void => {
      sink.proc.on('message', (raw: unknown) => {
        const m = asSinkMessage(raw);
        if (m === null) return;
        if (m.type === 'listening') listening = true;
        else if (m.type === 'connection') wsConnections = m.connections;
        else if (m.type === 'progress') {
          sinkUnique = m.unique;
          lastSinkProgress = Date.now();
        } else if (m.reason === 'complete') reports.complete = m.stats;
        else reports.requested = m.stats;
      });
    };
    /** Starts the relay (sets `relay`); null when it listens, else why it failed. */
    const startRelay = async (): Promise<string | null> => {
      progress('starting relay');
      const child = spawnNode('relay', sc.relayArgs(inPort, outPort), opt.root);
      children.push(child);
      relay = child;
      for (const port of sc.fanout ? [inPort, outPort] : [inPort]) {
        const notReady = await waitForTcp(port, child, 20_000);
        if (notReady !== null) return `relay failed to start: ${notReady}: ${tailLines(child.stderrTail())}`;
      }
      return null;
    };
    let sink: Child;
    if (sc.fanout) {
      // Server mode: the relay listens first, then the clients connect to it.
      const failed = await startRelay();
      if (failed !== null) return emptyResult(sc.name, n, failed, relay);
      const want = sc.fanout.clients + sc.fanout.slow;
      sink = spawnNode(
        'sink',
        [
          'dist/load/fanout-sink.js',
          '--url',
          `ws://127.0.0.1:${outPort}/`,
          '--records',
          `${n}`,
          '--clients',
          `${sc.fanout.clients}`,
          '--slow',
          `${sc.fanout.slow}`,
        ],
        opt.root,
      );
      children.push(sink);
      watch(sink);
      progress(`connecting ${want} clients`);
      if (
        !(await waitUntil(
          () => wsConnections >= want,
          20_000,
          () => sink.exitCode() !== null || relay?.exitCode() !== null,
        ))
      ) {
        return emptyResult(
          sc.name,
          n,
          `only ${wsConnections}/${want} clients connected: ${tailLines(sink.stderrTail())}`,
          relay,
        );
      }
    } else {
      sink = spawnNode(
        'sink',
        ['dist/load/sink.js', '--port', `${outPort}`, '--records', `${n}`, ...opt.sinkArgs],
        opt.root,
      );
      children.push(sink);
      watch(sink);
      if (
        !(await waitUntil(
          () => listening,
          10_000,
          () => sink.exitCode() !== null,
        ))
      ) {
        return emptyResult(sc.name, n, `sink failed to start: ${tailLines(sink.stderrTail())}`, null);
      }
      const failed = await startRelay();
      if (failed !== null) return emptyResult(sc.name, n, failed, relay);
      if (
        !(await waitUntil(
          () => wsConnections >= sc.wsConnections,
          5_000,
          () => relay?.exitCode() !== null,
        ))
      ) {
        notes.push(`relay accepted TCP with ${wsConnections}/${sc.wsConnections} WebSocket connections open`);
      }
    }
    // (assigned in startRelay: TypeScript does not see that)
    const r = relay as Child | null;
    if (r === null) return emptyResult(sc.name, n, 'relay did not start', null);
    const start = sampleProc(r.pid);
    const busyStart = machineBusyS();
    const sinkStart = sampleProc(sink.pid);
    if (start === null) return emptyResult(sc.name, n, `relay exited before the run: ${tailLines(r.stderrTail())}`, r);

    const genArgs = [
      'dist/load/generator.js',
      '--port',
      `${inPort}`,
      '--records',
      `${n}`,
      '--connections',
      `${opt.connections}`,
      '--protocol',
      sc.input ?? 'tcp',
    ];
    if (sc.rate) genArgs.push('--rate', `${sc.rate}`);
    const gen = spawnNode('generator', genArgs, opt.root);
    children.push(gen);
    gen.proc.on('message', (raw: unknown) => {
      const m = asGeneratorMessage(raw);
      if (m === null) return;
      if (m.type === 'started') startedAt = m.at;
      else if (m.type === 'progress') {
        if (m.records !== genRecords) lastGenProgress = Date.now();
        genRecords = m.records;
      } else if (m.type === 'done') {
        genDone = true;
        genRecords = m.records;
        genBytes = m.bytes;
        genCpuS = m.cpuS;
        genCpuTotalS = m.cpuTotalS;
        backlog = m.records - sinkUnique;
        lastSinkProgress = Math.max(lastSinkProgress, Date.now());
      } else if (m.type === 'error') genError = m.message;
    });

    let stop: string | null = null;
    let lastReport = 0;
    while (reports.complete === null && stop === null) {
      await sleep(20);
      if (r.exitCode() !== null) stop = `relay exited (${r.exitCode()}) during the run: ${tailLines(r.stderrTail())}`;
      else if (sink.exitCode() !== null) stop = `sink exited (${sink.exitCode()}): ${tailLines(sink.stderrTail())}`;
      else if (genError !== null) stop = `generator: ${genError}`;
      else if (gen.exitCode() !== null && !genDone)
        stop = `generator exited (${gen.exitCode()}): ${tailLines(gen.stderrTail())}`;
      else if (Date.now() > deadline) stop = `timed out after ${Math.round(budgetMs / 1000)} s`;
      else if (Date.now() - Math.max(lastSinkProgress, lastGenProgress) > opt.idleMs) {
        stop = genDone
          ? `stalled: nothing new for ${opt.idleMs / 1000} s after the generator finished`
          : `stalled: the relay neither accepted nor delivered anything for ${opt.idleMs / 1000} s`;
      }
      if (Date.now() - lastReport >= 250) {
        lastReport = Date.now();
        const rate =
          startedAt > 0
            ? sinkUnique / Math.max(1e-3, (performance.timeOrigin + performance.now() - startedAt) / 1000)
            : 0;
        const count = (v: number): string => v.toLocaleString('en-US');
        progress(
          `sent ${pct(genRecords, n)} · received ${count(sinkUnique)}/${count(n)} · ${Math.round(rate / 1000)}k rec/s`,
          sinkUnique / n,
        );
      }
    }
    const end: ProcSample | null = sampleProc(r.pid);
    const sinkEnd = sampleProc(sink.pid);
    const genEnd = sampleProc(gen.pid);
    const busyS = machineBusyS() - busyStart;
    if (stop !== null) notes.push(stop);

    // Late duplicates show up in a second report shortly after completion.
    await sleep(reports.complete !== null ? 300 : 0);
    try {
      sink.proc.send({ type: 'report' });
    } catch {
      // sink gone: use what it reported on completion, if anything
    }
    await waitUntil(() => reports.requested !== null, 2_000);
    const stats = reports.requested ?? reports.complete;
    const relayOutput = r.stderrTail().trim();
    if (stats === null || startedAt === 0) {
      return { ...emptyResult(sc.name, n, stop ?? 'no figures from the sink or the generator', r), notes };
    }
    const finishedAt = stats.completeAt > 0 ? stats.completeAt : stats.lastAt;
    const elapsedS = Math.max(1e-6, (finishedAt - startedAt) / 1000);
    const cpuS = end ? end.cpuS - start.cpuS : 0;
    // The generator may have exited already (the relay closed its connections); then its own
    // figure is used (it lacks the little it did after reporting).
    const ours =
      cpuS +
      (sinkEnd && sinkStart ? sinkEnd.cpuS - sinkStart.cpuS : stats.cpuS) +
      Math.max(genEnd?.cpuS ?? 0, genCpuTotalS);
    const foreignCpuS = Math.max(0, busyS - ours);
    const disturbed = foreignCpuS > Math.max(0.3, 0.05 * elapsedS * availableParallelism());
    if (disturbed) {
      notes.push(
        `other processes used ${foreignCpuS.toFixed(1)} CPU s during the ${elapsedS.toFixed(1)} s run: figures disturbed`,
      );
    }
    if (stats.invalidMessages > 0) {
      notes.push(`${stats.invalidMessages} of ${stats.validatedMessages} sampled messages failed full decoding`);
    }
    if (stats.badRecords > 0) notes.push(`${stats.badRecords} records without a usable seq`);
    if (stats.outOfRange > 0) notes.push(`${stats.outOfRange} records with seq out of range`);
    const fan = stats.fanout;
    if (!fan && stats.connections > sc.wsConnections) {
      notes.push(`${stats.connections} WebSocket connections (expected ${sc.wsConnections}): reconnects?`);
    }
    if (fan) {
      if (fan.completeClients < fan.clients)
        notes.push(`${fan.clients - fan.completeClients} of ${fan.clients} clients incomplete`);
      if (fan.divergedClients > 0)
        notes.push(`${fan.divergedClients} clients got bytes different from the first client's`);
      if (fan.slowClients > 0 || fan.closeCodes !== '') notes.push(`connections closed: ${fan.closeCodes || 'none'}`);
    }
    const settled = sc.settle ? await settle(r.pid, start.rssMB) : null;
    return {
      scenario: sc.name,
      error: null,
      records: n,
      complete: stats.missing === 0 && stats.duplicates === 0,
      elapsedS,
      recordsPerS: stats.unique / elapsedS,
      deliveredPerS: (fan ? fan.deliveries : stats.unique) / elapsedS,
      clients: fan?.clients ?? 1,
      inputMBps: (genBytes || n * 115) / 1e6 / elapsedS,
      relayCpuS: cpuS,
      cpuUsPerRecord: (cpuS * 1e6) / n,
      peakRssMB: end?.hwmMB ?? 0,
      rssStartMB: start.rssMB,
      rssEndMB: end?.rssMB ?? 0,
      settled,
      threads: end ? threadCpu(r.pid, start, end) : [],
      generatorCpuS: genCpuS,
      sinkCpuS: stats.cpuS,
      foreignCpuS,
      disturbed,
      backlogMB: (Math.max(0, backlog) * (genBytes / Math.max(1, genRecords))) / 1e6,
      sink: stats,
      notes,
      relayOutput,
    };
  } finally {
    await Promise.all(children.reverse().map((c) => kill(c)));
  }
}

function pct(a: number, b: number): string {
  return `${Math.floor((100 * a) / Math.max(1, b))}%`;
}
