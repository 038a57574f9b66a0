// A Piscina worker of the websocket output. Each thread owns one connection and one encoder;
// the pool hands it chunks (arenas moved, not copied). It parses and validates the records,
// encodes them as one message, sends it, and returns the arena with the outcome, so the main
// thread can reuse it or retry the chunk elsewhere.
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { decodeChunk } from '../src/chunk/chunk-reader.js';
import { createDirectEncoder, createEncoder } from '../src/encode/index.js';
import { Logger, logSink } from '../src/log.js';
import type {
  ControlMessage, FlushResult, FlushTask, WorkerEvent, WorkerSettings,
} from '../src/outputs/websocket/protocol.js';
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

const connection = new Connection(settings, log.child(`output:websocket:${settings.outputName}] [worker #${workerIndex}`), {
  onHandshake: (ok, detail) => post({ type: 'handshake', worker: workerIndex, ok, detail }),
  onClosed: (detail) => post({ type: 'closed', worker: workerIndex, detail }),
});

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
post({ type: 'started', worker: workerIndex });
connection.start();

/** Wraps a result so Piscina transfers the arena back instead of copying it. */
function moveArenaBack(result: FlushResult): FlushResult {
  const transferable = {
    get [Piscina.transferableSymbol]() { return [result.arena]; },
    get [Piscina.valueSymbol]() { return result; },
  };
  return Piscina.move(transferable as unknown as ArrayBuffer) as unknown as FlushResult;
}

/** Decodes and encodes; nothing of the decoded records outlives this call. */
function encodeChunk(task: FlushTask): { message: Buffer | null; records: number; malformed: FlushResult['malformed'] } {
  if (direct) return direct.encode(task.arena, task.byteLength, task.sources);
  const decoded = decodeChunk(task.arena, task.byteLength, task.sources);
  const records = decoded.records.length;
  return { message: records > 0 ? encoder.encode(decoded.records) : null, records, malformed: decoded.malformed };
}

/** Failed results this worker has returned (see FlushTask.failuresSeen). */
let failuresReturned = 0;

export default async function flush(task: FlushTask): Promise<FlushResult> {
  // Retries come back in id order; only a first attempt can be ahead of an earlier chunk's retry.
  if (settings.ordered && task.attempt === 0 && task.failuresSeen < failuresReturned) {
    return moveArenaBack({ chunkId: task.chunkId, arena: task.arena, worker: workerIndex, malformed: [], status: 'held' });
  }
  // The records are dropped before waiting for the confirmation: a worker holds up to
  // inflight_chunks chunks at once, and only their encoded messages need to stay alive.
  const { message, records, malformed } = encodeChunk(task);
  const base = { chunkId: task.chunkId, arena: task.arena, worker: workerIndex, malformed };
  if (message === null) return moveArenaBack({ ...base, status: 'flushed', records: 0, bytes: 0 });
  const bytes = message.length;
  const outcome = await connection.send(message, encoder.binary);
  if (outcome.status === 'flushed') return moveArenaBack({ ...base, status: 'flushed', records, bytes });
  failuresReturned++;
  return moveArenaBack({ ...base, status: outcome.status, reason: outcome.reason, records });
}
