// Hostile peers against a real relay process serving websocket_server: request targets Node's
// HTTP parser accepts but URL() refuses, sent raw to every HTTP listener (the feed, as a GET and
// as an upgrade; the metrics server; the http input), and a 21-byte forward message whose entry
// map has a non-string key, broadcast to a connected client. Each once ended the process; now
// each costs a 400 or the malformed record, and the relay goes on relaying.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { pack } from 'msgpackr';
import WebSocket from 'ws';
import { freePort } from './support/child.js';
import { startHostileRelay } from './support/hostile-relay.js';
import { waitFor } from './support/relay.js';
import { parseExposition } from './support/prom-parse.js';

const BAD_TARGETS = ['http://[', 'http://:99999/', '//[', 'http://%zz/'];

/**
 * Sends raw bytes; resolves with everything received once the relay closes (or 3 s pass).
 * `end`: half-close after the bytes, for a peer that sends and leaves (the forward input
 * answers nothing without an ack option, and would keep the connection open).
 */
function raw(port: number, bytes: string | Buffer, end = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    socket.on('data', (data: Buffer) => parts.push(data));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(parts).toString('latin1')));
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('connect', () => (end ? socket.end(bytes) : socket.write(bytes)));
  });
}

function metric(text: string, name: string, labels: Record<string, string>): number {
  const family = parseExposition(text).get(name);
  const sample = family?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return sample?.value ?? 0;
}

test('bad request targets and a non-string map key: the relay answers 400 or counts the record, and goes on', async () => {
  const [feedPort, httpPort, forwardPort] = [await freePort(), await freePort(), await freePort()];
  const relay = await startHostileRelay([
    '[INPUT]',
    '    name http',
    '    listen 127.0.0.1',
    `    port ${httpPort}`,
    '[INPUT]',
    '    name forward',
    '    listen 127.0.0.1',
    `    port ${forwardPort}`,
    '[OUTPUT]',
    '    name websocket_server',
    '    match *',
    '    listen 127.0.0.1',
    `    port ${feedPort}`,
    '    path /feed',
    '    token s3cret',
  ]);
  try {
    await waitFor(() => relay.child.stderr.includes(`:${feedPort}/feed`), 10_000, 'the feed to listen');
    const received: string[] = [];
    const client = new WebSocket(`ws://127.0.0.1:${feedPort}/feed?token=s3cret`);
    client.on('message', (data: Buffer) => received.push(data.toString()));
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });

    for (const target of BAD_TARGETS) {
      const get = await raw(feedPort, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(get, /^HTTP\/1\.1 400/, `feed GET ${target}`);
      const upgrade = await raw(
        feedPort,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      assert.match(upgrade, /^HTTP\/1\.1 400/, `feed upgrade ${target}`);
      assert.match(
        await raw(relay.metricsPort, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        /^HTTP\/1\.1 400/,
        `metrics ${target}`,
      );
      const post = await raw(
        httpPort,
        `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          'Content-Length: 2\r\nConnection: close\r\n\r\n{}',
      );
      assert.match(post, /^HTTP\/1\.1 (204|400)/, `http input ${target}`);
      assert.equal(relay.exitCode(), null, `${target} ended the relay:\n${relay.child.stderr}`);
    }

    // [tag, [[EventTime, {[1]: 2}]]]: a map key that is an array, as 21 raw bytes.
    const poison = Buffer.from('93a174c40f92d70000000001000000008191010280', 'hex');
    assert.equal(poison.length, 21);
    await raw(forwardPort, poison, true);
    await raw(forwardPort, pack(['t', [[1_700_000_000, { marker: 'after' }]]]), true);
    await waitFor(() => received.some((m) => m.includes('"after"')), 10_000, 'a record after the poison');
    assert.equal(relay.exitCode(), null, relay.child.stderr);
    assert.doesNotMatch(relay.child.stderr, /TypeError|Invalid URL|Uncaught|at .*\.js:\d+/);

    const metrics = await new Promise<string>((resolve, reject) => {
      const socket = connect(relay.metricsPort, '127.0.0.1');
      const parts: Buffer[] = [];
      socket.on('data', (d: Buffer) => parts.push(d));
      socket.on('close', () => resolve(Buffer.concat(parts).toString().split('\r\n\r\n').slice(1).join('\r\n\r\n')));
      socket.on('error', reject);
      socket.end('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    assert.ok(
      metric(metrics, 'wsrelay_output_handshakes_total', { output: 'websocket_server.0', result: 'failure' }) >=
        BAD_TARGETS.length,
      'the refused upgrades are counted',
    );
    client.close();

    // A client that floods pings and never reads: ws lets 60 pongs wait at most, then cuts it off.
    const before = relay.rssMb();
    const pings = Buffer.concat(
      Array.from({ length: 30_000 }, () =>
        Buffer.concat([Buffer.from([0x89, 0x80 | 125, 0, 0, 0, 0]), Buffer.alloc(125, 0x41)]),
      ),
    );
    const flood = await new Promise<boolean>((resolve) => {
      const socket = connect(feedPort, '127.0.0.1', () => {
        socket.pause(); // never reads a pong
        socket.write(
          `GET /feed?token=s3cret HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
        socket.write(pings);
        // Not reading, it learns of the cut-off only from a write that fails: keep pinging.
        const more = setInterval(() => socket.write(pings.subarray(0, 131)), 50);
        socket.on('close', () => clearInterval(more));
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(true));
      setTimeout(() => {
        if (!socket.destroyed) {
          socket.destroy();
          resolve(false);
        }
      }, 10_000).unref();
    });
    assert.ok(flood, 'the flooding client was cut off');
    assert.ok(relay.rssMb() - before < 50, `RSS grew ${(relay.rssMb() - before).toFixed(0)} MB for a 4 MB ping flood`);
    assert.ok((await relay.healthz()) < 1000);
    assert.equal(relay.exitCode(), null);
  } finally {
    await relay.stop();
  }
});
