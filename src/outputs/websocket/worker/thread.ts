// A Piscina worker of the websocket output. Each thread owns one connection and one encoder;
// the pool hands it chunks (shared arenas: neither copied nor moved). It parses and validates
// the records, encodes them as one message, sends it, and returns the outcome; the main thread
// still holds the chunk, so it can reuse the arena or retry the chunk elsewhere.
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { decodeChunk } from '../../../chunk/segments.js';
import { createDirectEncoder, createEncoder } from '../../../encode/index.js';
import { collectGarbage } from '../../../idle-release.js';
import { QuietTimer } from '../../../quiet-timer.js';
import { Logger, logSink } from '../../../log.js';
import type { ControlMessage, FlushResult, FlushTask, WorkerEvent, WorkerSettings } from '../protocol.js';
import { WorkerOrder } from '../delivery-order.js';
import { Connection } from './connection.js';

const settings = Piscina.workerData as WorkerSettings;
const workerIndex = Atomics.add(new Int32Array(settings.workerCounter), 0, 1);
const log = new Logger(settings.logLevel, `output:websocket:${settings.outputName}`, logSink(settings.logFile));
const encoder = createEncoder(settings.encoder);
// JSON and msgpack outputs write JSON lines straight from the arena's bytes into the message.
const direct = createDirectEncoder(settings.encoder);
const channel = new BroadcastChannel(settings.channel);

function post(event: WorkerEvent): void {
  channel.postMessage(event);
}

const connection = new Connection(
  settings,
  log.child(`output:websocket:${settings.outputName}] [worker #${workerIndex}`),
  {
    onHandshake: (failure, elapsedMs) =>
      post(
        failure === null
          ? { type: 'handshake', worker: workerIndex, ok: true, elapsedMs }
          : { type: 'handshake', worker: workerIndex, ok: false, failure, elapsedMs },
      ),
    onClosed: (failure) => post({ type: 'closed', worker: workerIndex, failure }),
  },
);

channel.onmessage = (event) => {
  const message = (event as { data: ControlMessage }).data;
  if (message.type !== 'shutdown') return;
  log.info(`thread worker #${workerIndex} stopping...`);
  void connection.stop().then(() => {
    log.info(`thread worker #${workerIndex} stopped`);
    post({ type: 'stopped', worker: workerIndex });
  });
};

log.info(`worker #${workerIndex} started`);
post({ type: 'started', worker: workerIndex, threadId });
connection.start();

/** Decodes and encodes; nothing of the decoded records outlives this call. */
interface Encoded {
  readonly message: Buffer | null;
  readonly records: number;
  readonly malformed: FlushResult['malformed'];
  /** Set when the message is in the direct encoder's pooled buffer (framed in place). */
  readonly release?: () => void;
}

function encodeChunk(task: FlushTask): Encoded {
  if (direct) return direct.encode(task.arena, task.byteLength, task.sources);
  const decoded = decodeChunk(task.arena, task.byteLength, task.sources);
  const records = decoded.records.length;
  return { message: records > 0 ? encoder.encode(decoded.records) : null, records, malformed: decoded.malformed };
}

// Quiet for a few seconds after a burst: the buffers kept for reuse go, and one full collection
// frees them and the burst's messages (idle-release.ts). Not after a trickle of small chunks.
const IDLE_RELEASE_MS = 5_000;
const RELEASE_AFTER_BYTES = 1 << 20;
let bytesSinceRelease = 0;
const idle = new QuietTimer(IDLE_RELEASE_MS, () => {
  direct?.dropFreeBuffers();
  if (bytesSinceRelease >= RELEASE_AFTER_BYTES) collectGarbage();
  bytesSinceRelease = 0;
});

const order = new WorkerOrder(settings.ordered);
const wouldOvertake = (task: FlushTask): boolean => order.wouldOvertake(task.attempt, task.epoch);

export default async function flush(task: FlushTask): Promise<FlushResult> {
  const held: FlushResult = {
    chunkId: task.chunkId,
    worker: workerIndex,
    malformed: [],
    pongsIgnored: connection.pongsIgnored,
    status: 'held',
  };
  if (wouldOvertake(task)) return held;
  // The records are dropped before waiting for the confirmation: a worker holds up to
  // inflight_chunks chunks at once, and only their encoded messages need to stay alive. One
  // chunk is encoded at a time, once the socket has written the last message (write-turns.ts).
  await connection.takeTurn();
  if (wouldOvertake(task)) {
    connection.skipTurn();
    return held;
  }
  let encoded: Encoded;
  try {
    encoded = encodeChunk(task);
  } catch (error) {
    connection.skipTurn();
    throw error;
  }
  const { message, records, malformed, release } = encoded;
  const base = { chunkId: task.chunkId, worker: workerIndex, malformed, pongsIgnored: connection.pongsIgnored };
  if (message === null) {
    connection.skipTurn();
    return { ...base, status: 'flushed', records: 0, bytes: 0 };
  }
  const bytes = message.length;
  bytesSinceRelease += bytes;
  idle.touch();
  const outcome = await connection.send(message, encoder.binary, release, () => !wouldOvertake(task));
  if (outcome.status === 'held') return held;
  if (outcome.status === 'flushed') return { ...base, status: 'flushed', records, bytes };
  order.failureReturned();
  return { ...base, status: outcome.status, failure: outcome.failure, records };
}
