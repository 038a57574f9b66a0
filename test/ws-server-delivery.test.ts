// websocket_server delivery: replay and ?last_id= resume without loss or duplicates, slow
// clients that cost the others nothing, 100 clients receiving everything, json_lines batches,
// TLS and dead-client pings. Real relays and sockets on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeedClient, lines, openStuckClient, startFeedRelay } from './support/feed.js';
import { sendLines, seqReport, sleep, waitFor } from './support/relay.js';

type Message = [string, Record<string, unknown>, number];

test('buffered_messages: a new client first gets the last N messages, then live ones, in order', async () => {
  const relay = await startFeedRelay({ buffered_messages: '20' });
  try {
    await sendLines(relay.port, lines(0, 30));
    await waitFor(() => relay.output.stats.dropped.no_clients === 30, 5000, 'records published');
    const client = await FeedClient.open(`${relay.base}/`);
    await waitFor(() => client.frames.length === 20, 5000, 'the replay');
    await sendLines(relay.port, lines(30, 10));
    await waitFor(() => client.frames.length === 30, 5000, 'live records');
    const got = client.json() as Message[];
    assert.deepEqual(
      got.map((m) => m[1]['seq']),
      Array.from({ length: 30 }, (_, i) => i + 10),
    );
    // Ids are consecutive and come last: [tag, record, id].
    got.forEach((m, i) => {
      if (i > 0) assert.equal(m[2], got[i - 1]![2] + 1);
    });
    // A second client gets the replay too; the first one does not get it again.
    const second = await FeedClient.open(`${relay.base}/`);
    await waitFor(() => second.frames.length === 20, 5000, 'second replay');
    await sleep(100);
    assert.equal(client.frames.length, 30);
    await client.close();
    await second.close();
  } finally {
    await relay.stop();
  }
});

test('?last_id= resumes exactly after the last message seen: reconnecting often loses and repeats nothing', async () => {
  const relay = await startFeedRelay({ buffered_messages: '100000' });
  const total = 6000;
  try {
    const received: Array<Record<string, unknown>> = [];
    let lastId: number | null = null;
    let client = await FeedClient.open(`${relay.base}/`);
    const sending = (async () => {
      for (let from = 0; from < total; from += 200) {
        await sendLines(relay.port, lines(from, 200));
        await sleep(5);
      }
    })();
    const take = (c: FeedClient): void => {
      for (const m of c.json() as Message[]) {
        received.push(m[1]);
        lastId = m[2];
      }
    };
    for (let round = 0; round < 6; round++) {
      await sleep(60);
      await client.close();
      take(client);
      client = await FeedClient.open(`${relay.base}/?last_id=${String(lastId)}`);
    }
    await sending;
    await waitFor(() => received.length + client.json().length >= total, 10_000, 'everything');
    await sleep(100);
    take(client);
    const report = seqReport(received, total);
    assert.deepEqual(report.missing, []);
    assert.equal(report.duplicates, 0);
    assert.deepEqual(
      received.map((r) => r['seq']),
      Array.from({ length: total }, (_, i) => i),
      'in order',
    );
    await client.close();
  } finally {
    await relay.stop();
  }
});

test('a last_id older than the ring, or from an earlier run, gets the whole ring; filters apply to replays', async () => {
  const relay = await startFeedRelay({ buffered_messages: '5' });
  try {
    await sendLines(
      relay.port,
      lines(0, 10, (seq) => `,"even":${seq % 2 === 0}`),
    );
    await waitFor(() => relay.output.stats.dropped.no_clients === 10, 5000, 'published');
    const stale = await FeedClient.open(`${relay.base}/?last_id=12`);
    await waitFor(() => stale.frames.length === 5, 5000, 'whole ring');
    assert.deepEqual(
      (stale.json() as Message[]).map((m) => m[1]['seq']),
      [5, 6, 7, 8, 9],
    );
    const even = await FeedClient.open(`${relay.base}/?even=true`);
    await waitFor(() => even.frames.length === 2, 5000, 'filtered replay');
    assert.deepEqual(
      (even.json() as Message[]).map((m) => m[1]['seq']),
      [6, 8],
    );
    await stale.close();
    await even.close();
  } finally {
    await relay.stop();
  }
});

/** Enough traffic to fill a stuck client's kernel buffers several times over. */
async function flood(port: number, total: number): Promise<void> {
  const pad = 'x'.repeat(400);
  for (let from = 0; from < total; from += 5000) {
    await sendLines(
      port,
      lines(from, Math.min(5000, total - from), () => `,"pad":"${pad}"`),
      2,
    );
  }
}

test('slow_client_policy close: a client that never reads is cut off; the others receive everything', async () => {
  const relay = await startFeedRelay({ max_client_queue: '256k' });
  const total = 60_000; // ~28 MB per client
  try {
    const fast = await Promise.all([FeedClient.open(`${relay.base}/`), FeedClient.open(`${relay.base}/`)]);
    const stuck = await openStuckClient(relay.output.port);
    const stuckClosed = new Promise<void>((resolve) => stuck.on('close', () => resolve()));
    await flood(relay.port, total);
    await waitFor(() => fast.every((c) => c.frames.length === total), 30_000, 'fast clients get everything');
    for (const c of fast) {
      const report = seqReport(c.records(1), total);
      assert.deepEqual([report.missing.length, report.duplicates], [0, 0]);
    }
    const stats = relay.output.stats;
    await waitFor(() => relay.output.clientCount === 2, 5000, 'the stuck client removed');
    assert.ok(stats.dropped.slow_client > 0, 'its loss is counted');
    assert.equal(stats.connectionsClosed, 1);
    // The server closed it: once the stuck client reads again, it finds the end of the stream.
    stuck.resume();
    await stuckClosed;
    // Its backlog is gone with it: memory does not grow with a stuck client.
    assert.ok(relay.output.bufferState().bytes < 1024 * 1024);
    await Promise.all(fast.map((c) => c.close()));
  } finally {
    await relay.stop();
  }
});

test('slow_client_policy drop_oldest: a stuck client stays connected with a bounded queue; the others get everything', async () => {
  const limit = 256 * 1024;
  const relay = await startFeedRelay({ max_client_queue: String(limit), slow_client_policy: 'drop_oldest' });
  const total = 60_000;
  try {
    const fast = await FeedClient.open(`${relay.base}/`);
    const stuck = await openStuckClient(relay.output.port);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, relay.output.bufferState().bytes);
    }, 5);
    await flood(relay.port, total);
    await waitFor(() => fast.frames.length === total, 30_000, 'the fast client gets everything');
    clearInterval(sampler);
    const report = seqReport(fast.records(1), total);
    assert.deepEqual([report.missing.length, report.duplicates], [0, 0]);
    assert.equal(relay.output.clientCount, 2, 'the stuck client is still connected');
    assert.ok(relay.output.stats.dropped.slow_client > 0, 'what it lost is counted');
    // The limit, plus one batch in the queue, plus the socket's own share (256 KiB + a batch).
    assert.ok(peak < limit + 4 * 512 * 1024, `peak backlog ${peak}`);
    stuck.destroy();
    await fast.close();
  } finally {
    await relay.stop();
  }
});

test('100 clients all receive every record, in order', async () => {
  const relay = await startFeedRelay({});
  const total = 5000;
  try {
    const clients = await Promise.all(Array.from({ length: 100 }, () => FeedClient.open(`${relay.base}/`)));
    await sendLines(relay.port, lines(0, total), 4);
    await waitFor(() => clients.every((c) => c.frames.length >= total), 20_000, 'every client, every record');
    await sleep(50);
    const expected = Array.from({ length: total }, (_, i) => i);
    for (const c of clients) {
      assert.equal(c.frames.length, total);
      const seqs = c
        .records(1)
        .map((r) => r['seq'] as number)
        .sort((a, b) => a - b);
      assert.deepEqual(seqs, expected);
    }
    assert.equal(relay.output.stats.records, total);
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await relay.stop();
  }
});

test('format json_lines: many messages per TEXT frame, one per line, same shape', async () => {
  const relay = await startFeedRelay({ format: 'json_lines', add_time: 'on' });
  const total = 3000;
  try {
    const all = await FeedClient.open(`${relay.base}/`);
    const odd = await FeedClient.open(`${relay.base}/?odd=true`);
    await sendLines(
      relay.port,
      lines(0, total, (seq) => `,"odd":${seq % 2 === 1}`),
    );
    await waitFor(() => all.json().length === total && odd.json().length === total / 2, 5000, 'all lines');
    assert.ok(all.frames.length < total / 10, `batched (${all.frames.length} frames)`);
    assert.ok(all.frames.every((f) => !f.binary && f.data.toString().endsWith('\n')));
    const first = all.json()[0] as unknown[];
    assert.equal(first[0], 'foo.bar');
    assert.ok(Number.isInteger(first[1]));
    assert.deepEqual(seqReport(all.records(2), total), { missing: [], duplicates: 0 });
    assert.ok(odd.records(2).every((r) => r['odd'] === true));
    await all.close();
    await odd.close();
  } finally {
    await relay.stop();
  }
});

test('tls on serves wss:// (and the page over https://) with the given certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsr-tls-'));
  try {
    // Made for this test only and deleted after it: no key is ever committed.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'crt.pem'),
      ],
      { stdio: 'ignore' },
    );
    const relay = await startFeedRelay({
      tls: 'on',
      'tls.crt_file': join(dir, 'crt.pem'),
      'tls.key_file': join(dir, 'key.pem'),
    });
    try {
      const ca = readFileSync(join(dir, 'crt.pem'));
      const url = `wss://127.0.0.1:${relay.output.port}/`;
      const client = await FeedClient.open(url, { ca });
      await sendLines(relay.port, ['{"secure":true}']);
      await waitFor(() => client.frames.length === 1, 5000, 'a record over TLS');
      assert.deepEqual(client.json(), [['foo.bar', { secure: true }]]);
      await assert.rejects(
        FeedClient.open(url),
        /self-signed|certificate/,
        'an untrusted certificate is refused by default',
      );
      const status = await new Promise<number>((resolve, reject) => {
        httpsGet({ host: '127.0.0.1', port: relay.output.port, path: '/', ca, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      assert.equal(status, 200);
      await client.close();
    } finally {
      await relay.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ping_interval: a client that stops answering pings is terminated; a live one stays', async () => {
  const relay = await startFeedRelay({ ping_interval: '0.2' });
  try {
    const live = await FeedClient.open(`${relay.base}/`);
    const dead = await FeedClient.open(`${relay.base}/`, { autoPong: false });
    const code = await dead.closed;
    assert.equal(code, 1006, 'terminated, no close handshake');
    await sleep(500);
    assert.equal(relay.output.clientCount, 1);
    await sendLines(relay.port, ['{"still":"here"}']);
    await waitFor(() => live.frames.length === 1, 5000, 'the live client still receives');
    await live.close();
  } finally {
    await relay.stop();
  }
});
