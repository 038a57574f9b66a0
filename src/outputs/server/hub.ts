// Who gets what: clients grouped by filter, so each distinct filter selects and packs a chunk's
// messages once and every client of the group is handed the same buffer. Unfiltered clients
// get the chunk's block as it was encoded, without even a copy. Also the replay ring, the
// sequence ids, pings and the counts that go to metrics.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { ServerFrameFormat, SlowClientPolicy } from '../../config/types.js';
import type { ConnectionOutputStats } from '../../engine/stats.js';
import type { Logger } from '../../log.js';
import { Client, type ClientHooks } from './client.js';
import type { RecordFilter } from './filter.js';
import { OPCODE_TEXT, frameOf } from './frames.js';
import type { EncodedChunk, Message } from './messages.js';
import { ReplayRing } from './ring.js';

/** A json_lines frame is closed at this size when a batch is cut into several (replays). */
const MAX_BATCH_FRAME = 1024 * 1024;

interface Group {
  readonly filter: RecordFilter | null;
  readonly clients: Set<Client>;
}

export interface HubOptions {
  readonly format: ServerFrameFormat;
  readonly bufferedMessages: number;
  readonly maxClientQueueBytes: number;
  readonly slowClientPolicy: SlowClientPolicy;
}

export class Hub {
  readonly clients = new Set<Client>();
  private readonly groups = new Map<string, Group>();
  private readonly ring: ReplayRing | null;
  /**
   * Ids start from the start time in microseconds, so a client resuming with an id from an
   * earlier run of the relay is below every id of this one and gets the whole ring, instead
   * of being taken for a client that is up to date. Still exact integers in JSON (< 2^53).
   */
  private nextId = Date.now() * 1000;
  private readonly hooks: ClientHooks;

  /** `settled`: a client's writes completed or a client left, so `caughtUp` may have turned true. */
  constructor(
    private readonly options: HubOptions,
    private readonly stats: ConnectionOutputStats,
    log: Logger,
    private readonly settled: () => void,
  ) {
    this.ring = options.bufferedMessages > 0 ? new ReplayRing(options.bufferedMessages) : null;
    this.hooks = {
      dropped: (records) => {
        stats.dropped.slow_client += records;
      },
      written: (bytes) => {
        stats.bytes += bytes;
      },
      settled,
      cutOff: (client, why) => log.burst('warn', 'slow client', `disconnecting ${client.peer}: ${why}`),
    };
  }

  get withIds(): boolean {
    return this.ring !== null;
  }

  /** Reserves `count` consecutive ids and returns the first. */
  takeIds(count: number): number {
    const first = this.nextId;
    this.nextId += count;
    return first;
  }

  /** Bytes queued for all clients together. */
  get backlog(): number {
    let total = 0;
    for (const client of this.clients) total += client.backlog;
    return total;
  }

  /** Every client has been written all it was sent (what the kernel holds is theirs to read). */
  get caughtUp(): boolean {
    for (const client of this.clients) if (!client.caughtUp) return false;
    return true;
  }

  /** A client of this hub, counted in its stats. */
  createClient(ws: WebSocket, socket: Duplex, filter: RecordFilter | null, peer: string): Client {
    return new Client(
      ws,
      socket,
      filter,
      peer,
      this.options.maxClientQueueBytes,
      this.options.slowClientPolicy,
      this.hooks,
    );
  }

  /**
   * Adds a client: first what it missed (the whole ring, or what follows `lastId`), then live
   * messages. Both happen in the same turn of the event loop as a publish could, so nothing
   * is sent twice or skipped between the replay and the first live batch.
   */
  add(client: Client, lastId: number | null): void {
    if (this.ring) {
      const missed = this.select(this.ring.after(lastId), client.filter);
      if (missed.length > 0) client.send(this.pack(missed), missed.length);
    }
    this.clients.add(client);
    const key = client.filter?.key ?? '';
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { filter: client.filter, clients: new Set() }));
    group.clients.add(client);
    this.stats.connectionsOpen = this.clients.size;
  }

  remove(client: Client): void {
    if (!this.clients.delete(client)) return;
    const key = client.filter?.key ?? '';
    const group = this.groups.get(key);
    group?.clients.delete(client);
    if (group && group.clients.size === 0) this.groups.delete(key);
    this.stats.connectionsOpen = this.clients.size;
    this.stats.connectionsClosed++;
    this.settled();
  }

  publish(chunk: EncodedChunk): void {
    const messages = chunk.messages;
    if (messages.length === 0) return;
    this.ring?.push(messages);
    if (this.clients.size === 0) {
      this.stats.dropped.no_clients += messages.length;
      return;
    }
    let reached = 0;
    const unfiltered = this.groups.get('');
    if (unfiltered) {
      const bytes =
        this.options.format === 'json_lines' ? frameOf(OPCODE_TEXT, [chunk.block], chunk.block.length) : chunk.block;
      for (const client of unfiltered.clients) client.send(bytes, messages.length);
      reached = messages.length;
    }
    // With an unfiltered client every message counts as delivered already; otherwise count
    // the messages at least one filter took.
    const taken = unfiltered ? null : new Uint8Array(messages.length);
    for (const [key, group] of this.groups) {
      if (key === '' || group.filter === null) continue;
      const selected: Message[] = [];
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i]!;
        if (!group.filter.matches(message.body)) continue;
        selected.push(message);
        if (taken && taken[i] === 0) {
          taken[i] = 1;
          reached++;
        }
      }
      if (selected.length === 0) continue;
      const bytes = this.pack(selected);
      for (const client of group.clients) client.send(bytes, selected.length);
    }
    this.stats.records += reached;
  }

  /** Pings every client; one that has not answered the previous ping is cut. */
  ping(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        client.terminate();
        continue;
      }
      client.alive = false;
      if (client.open) client.ws.ping();
    }
  }

  private select(messages: Message[], filter: RecordFilter | null): Message[] {
    return filter === null ? messages : messages.filter((m) => filter.matches(m.body));
  }

  /** The frames that carry `messages`: theirs side by side, or json_lines frames of them. */
  private pack(messages: readonly Message[]): Buffer {
    if (this.options.format !== 'json_lines') return Buffer.concat(messages.map((m) => m.bytes));
    const frames: Buffer[] = [];
    let lines: Buffer[] = [];
    let size = 0;
    for (const message of messages) {
      if (size > 0 && size + message.bytes.length > MAX_BATCH_FRAME) {
        frames.push(frameOf(OPCODE_TEXT, lines, size));
        lines = [];
        size = 0;
      }
      lines.push(message.bytes);
      size += message.bytes.length;
    }
    if (size > 0) frames.push(frameOf(OPCODE_TEXT, lines, size));
    return frames.length === 1 ? frames[0]! : Buffer.concat(frames);
  }
}
