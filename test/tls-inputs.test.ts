// TLS on the listening side: tcp, http and forward inputs (with client certificates for mTLS)
// and the metrics server, driven by real TLS clients on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { FluentClient } from '@fluent-org/logger';
import { pack } from 'msgpackr';
import { resolvePipeline } from '../src/config/resolve.js';
import { Logger } from '../src/log.js';
import { startMetricsServer } from '../src/metrics/server.js';
import { testCerts } from './support/certs.js';
import { TestServer } from './support/test-server.js';
import { sleep, startPipeline, waitFor, type TestRelay } from './support/relay.js';

const certs = testCerts();
const serverKeys = { tls: 'on', 'tls.crt_file': certs.serverCert, 'tls.key_file': certs.serverKey };
const trustRelay: ConnectionOptions = { ca: certs.pem(certs.caFile) };
const clientCert: ConnectionOptions = {
  ...trustRelay,
  cert: certs.pem(certs.clientCert),
  key: certs.pem(certs.clientKey),
};

/** One input → a websocket output to a plain test server; the body gets both. */
async function withInput(
  plugin: string,
  props: Record<string, string>,
  body: (relay: TestRelay, server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await TestServer.start();
  const relay = await startPipeline(
    [{ plugin, props: { listen: '127.0.0.1', port: '0', tag: 'in', ...props } }],
    [
      {
        plugin: 'websocket',
        props: { host: '127.0.0.1', port: String(server.port), format: 'json_lines', match: '*' },
      },
    ],
  );
  try {
    await body(relay, server);
  } finally {
    await relay.stop();
    await server.stop();
  }
}

/**
 * Connects over TLS, writes `data` once the handshake is done, ends, and resolves when the
 * connection is closed: with the error, if any (a refused certificate surfaces as one).
 */
function tlsSend(port: number, options: ConnectionOptions, data: string | Buffer): Promise<Error | null> {
  return new Promise((resolve) => {
    let failure: Error | null = null;
    const socket = tlsConnect({ host: '127.0.0.1', port, ...options }, () => socket.end(data));
    socket.on('error', (error: Error) => {
      failure = error;
    });
    socket.on('close', () => resolve(failure));
    socket.resume();
  });
}

function plainSend(port: number, data: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.end(data));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.resume();
  });
}

function tlsFailures(relay: TestRelay, input: string): number {
  return relay.engine.stats().inputs[input]!.tlsHandshakeFailures;
}

test('tcp input with tls on: TLS clients deliver; a plain-text client is refused and counted', async () => {
  await withInput('tcp', serverKeys, async (relay, server) => {
    assert.equal(await tlsSend(relay.port, trustRelay, '{"seq":0}\n{"seq":1}\n'), null);
    await waitFor(() => server.jsonRecords().length === 2, 5000, 'two records');
    await plainSend(relay.port, '{"seq":2}\n');
    await waitFor(() => tlsFailures(relay, 'tcp.0') === 1, 5000, 'the refused handshake counted');
    // A window for a record that should not be there: two flush intervals (0.05 s).
    await sleep(100);
    assert.deepEqual(
      server.jsonRecords().map((r) => r['seq']),
      [0, 1],
    );
  });
});

test('tcp input with tls.ca_file: a client without a certificate is refused, one with a certificate from the CA delivers', async () => {
  await withInput('tcp', { ...serverKeys, 'tls.ca_file': certs.caFile }, async (relay, server) => {
    const refused = await tlsSend(relay.port, trustRelay, '{"who":"anonymous"}\n');
    assert.ok(refused, 'the client without a certificate sees an error');
    // A certificate from another CA is refused too (TLS 1.3 may report it to the client only
    // after the client has finished, so the relay's count is what is checked).
    await tlsSend(
      relay.port,
      { ...trustRelay, cert: certs.pem(certs.selfSignedCert), key: certs.pem(certs.selfSignedKey) },
      '{"who":"stranger"}\n',
    );
    await waitFor(() => tlsFailures(relay, 'tcp.0') === 2, 5000, 'two refused handshakes');
    assert.equal(await tlsSend(relay.port, clientCert, '{"who":"client"}\n'), null);
    await waitFor(() => server.jsonRecords().length >= 1, 5000, 'the record of the client with a certificate');
    await sleep(100); // a window, as above
    assert.deepEqual(
      server.jsonRecords().map((r) => r['who']),
      ['client'],
    );
  });
});

test('tls.min_version TLSv1.3 on an input refuses a client limited to TLS 1.2', async () => {
  await withInput('tcp', { ...serverKeys, 'tls.min_version': 'TLSv1.3' }, async (relay, server) => {
    assert.ok(
      await tlsSend(relay.port, { ...trustRelay, maxVersion: 'TLSv1.2' }, '{"v":"1.2"}\n'),
      'TLS 1.2 is refused',
    );
    assert.equal(await tlsSend(relay.port, trustRelay, '{"v":"1.3"}\n'), null);
    await waitFor(() => server.jsonRecords().length >= 1, 5000, 'the TLS 1.3 record');
    await sleep(100); // a window, as above
    assert.deepEqual(
      server.jsonRecords().map((r) => r['v']),
      ['1.3'],
    );
    assert.equal(tlsFailures(relay, 'tcp.0'), 1);
  });
});

test('forward input with mTLS: a fluent-logger client with its certificate gets its ack; none without', async () => {
  await withInput('forward', { ...serverKeys, 'tls.ca_file': certs.caFile }, async (relay, server) => {
    const client = new FluentClient('app', {
      socket: { host: '127.0.0.1', port: relay.port, timeout: 3000, tls: clientCert },
      ack: { ackTimeout: 5000 },
      flushInterval: 10,
    });
    try {
      // With ack, emit resolves only when the relay acknowledged the buffered records.
      await client.emit('tls', { over: 'tls' });
    } finally {
      await client.shutdown();
    }
    const message = pack(['app.anonymous', Math.floor(Date.now() / 1000), { over: 'nothing' }]);
    assert.ok(await tlsSend(relay.port, trustRelay, message), 'a client without a certificate is refused');
    await waitFor(() => tlsFailures(relay, 'forward.0') === 1, 5000, 'the refused handshake counted');
    await waitFor(() => server.jsonRecords().length >= 1, 5000, 'the acknowledged record');
    await sleep(100); // a window, as above
    assert.deepEqual(
      server.jsonRecords().map((r) => r['over']),
      ['tls'],
    );
  });
});

test('http input with tls on answers over https and delivers', async () => {
  await withInput('http', serverKeys, async (relay, server) => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: relay.port,
          path: '/app/login',
          method: 'POST',
          ...trustRelay,
          headers: { 'Content-Type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{"user":6}');
    });
    assert.equal(status, 204);
    await waitFor(() => server.jsonRecords().length === 1, 5000, 'the posted record');
    assert.equal(server.jsonRecords()[0]!['user'], 6);
  });
});

test('metrics server with http_tls on (encrypted key) serves its endpoints over https only', async () => {
  const at = { file: 'test', line: 1 };
  const { config } = resolvePipeline({
    service: {
      kind: 'service',
      plugin: '',
      at,
      properties: [
        { key: 'http_tls', value: 'on', at },
        { key: 'http_tls.crt_file', value: certs.serverCert, at },
        { key: 'http_tls.key_file', value: certs.serverKeyEncrypted, at },
        { key: 'http_tls.key_passwd', value: certs.passphrase, at },
      ],
    },
    inputs: [{ kind: 'input', plugin: 'tcp', at, properties: [] }],
    outputs: [{ kind: 'output', plugin: 'null', at, properties: [] }],
  });
  const logs: string[] = [];
  const metrics = await startMetricsServer(
    { listen: '127.0.0.1', port: 0, readyWindowSeconds: 1, tls: config.service.http.tls },
    { stats: () => ({ inputs: {}, outputs: {} }) as never, inputsListening: () => true },
    new Logger('info', '', {
      write: (line) => {
        logs.push(line);
      },
    }),
  );
  try {
    const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: metrics.port, path: '/healthz', ...trustRelay }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(body, { status: 200, text: '{"status":"ok"}\n' });
    assert.ok(
      logs.some((l) => l.includes(`listening on 127.0.0.1:${metrics.port} (https)`)),
      logs.join(''),
    );
    // Plain HTTP on the same port gets no answer from the application.
    const plain = await new Promise<string>((resolve) => {
      const socket = netConnect(metrics.port, '127.0.0.1', () =>
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
    assert.doesNotMatch(plain, /status/);
  } finally {
    await metrics.close();
  }
});
