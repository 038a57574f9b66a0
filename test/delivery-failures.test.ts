// Coded delivery failures (protocol.ts DeliveryFailureCode, worker/failures.ts): the worker's
// Connection against real peers on 127.0.0.1 that fail in each way an operator must tell apart —
// nothing listening, an untrusted certificate, a refused upgrade, a silent server, a broken
// handshake, a close code, a frame that breaks RFC 6455 — and the reason label each becomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { Connection, type ConnectionOptions, type SendOutcome } from '../src/outputs/websocket/worker/connection.js';
import type { DeliveryFailure } from '../src/outputs/websocket/protocol.js';
import { reasonLabel } from '../src/outputs/websocket/main/delivery-counts.js';
import { Logger } from '../src/log.js';
import { testCerts } from './support/certs.js';
import { clientTls, connectionOptions } from './support/connection-options.js';

/** One message sent on a fresh connection; resolves with its outcome and the handshake's failure. */
async function attempt(
  url: string,
  overrides: Partial<ConnectionOptions> = {},
): Promise<{
  outcome: SendOutcome;
  handshake: DeliveryFailure | null | undefined;
}> {
  let handshake: DeliveryFailure | null | undefined;
  const log = new Logger('error', 'test', { write: () => undefined });
  const conn = new Connection(connectionOptions(url, overrides), log, {
    onHandshake: (failure) => {
      handshake ??= failure;
    },
    onClosed: () => undefined,
  });
  try {
    await conn.takeTurn();
    const outcome = await conn.send(Buffer.from('{"a":1}'), false);
    return { outcome, handshake };
  } finally {
    await conn.stop();
  }
}

function failureOf(outcome: SendOutcome): DeliveryFailure {
  assert.ok(outcome.status === 'not_sent' || outcome.status === 'failed', JSON.stringify(outcome));
  return outcome.failure;
}

async function listening(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(
  server: Server | ReturnType<typeof createTcpServer>,
  sockets: Set<Socket> = new Set(),
): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

test('nothing listening: refused, not sent', async () => {
  const server = createTcpServer();
  const port = await listening(server);
  await closeServer(server);
  const { outcome, handshake } = await attempt(`ws://127.0.0.1:${port}/`);
  assert.equal(outcome.status, 'not_sent');
  assert.equal(failureOf(outcome).code, 'WSR_DELIVERY_REFUSED');
  assert.equal(handshake?.code, 'WSR_DELIVERY_REFUSED');
  assert.equal(reasonLabel(failureOf(outcome)), 'refused');
});

test('an untrusted certificate: tls, with what to change', async () => {
  const certs = testCerts();
  const server = createHttpsServer({ cert: certs.pem(certs.selfSignedCert), key: certs.pem(certs.selfSignedKey) });
  const port = await listening(server);
  try {
    const tls = clientTls(true);
    const failure = failureOf((await attempt(`wss://127.0.0.1:${port}/`, { tls })).outcome);
    assert.equal(failure.code, 'WSR_DELIVERY_TLS');
    assert.match(failure.detail, /tls\.ca_file/);
    assert.equal(reasonLabel(failure), 'tls');
  } finally {
    await closeServer(server);
  }
});

test('a TLS client against a plain server: tls, not a handshake error', async () => {
  const server = createHttpServer();
  const port = await listening(server);
  try {
    const tls = clientTls(false);
    const failure = failureOf((await attempt(`wss://127.0.0.1:${port}/`, { tls })).outcome);
    assert.equal(failure.code, 'WSR_DELIVERY_TLS', failure.detail);
  } finally {
    server.closeAllConnections();
    await closeServer(server);
  }
});

test('the upgrade refused with 401: handshake_status_401', async () => {
  const server = createHttpServer();
  server.on('upgrade', (_request, socket: Socket) => {
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  const port = await listening(server);
  try {
    const failure = failureOf((await attempt(`ws://127.0.0.1:${port}/`)).outcome);
    assert.deepEqual(
      { code: failure.code, status: failure.status },
      { code: 'WSR_DELIVERY_HANDSHAKE_STATUS', status: 401 },
    );
    assert.equal(reasonLabel(failure), 'handshake_status_401');
  } finally {
    await closeServer(server);
  }
});

test('a server that accepts and never answers: connect_timeout', async () => {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  const port = await listening(server);
  try {
    const failure = failureOf((await attempt(`ws://127.0.0.1:${port}/`, { connectTimeoutMs: 200 })).outcome);
    assert.equal(failure.code, 'WSR_DELIVERY_CONNECT_TIMEOUT');
    assert.equal(reasonLabel(failure), 'connect_timeout');
  } finally {
    await closeServer(server, sockets);
  }
});

test('a 101 without a valid Sec-WebSocket-Accept: handshake_invalid', async () => {
  const server = createHttpServer();
  const sockets = new Set<Socket>();
  server.on('upgrade', (_request, socket: Socket) => {
    sockets.add(socket);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n',
    );
  });
  const port = await listening(server);
  try {
    const failure = failureOf((await attempt(`ws://127.0.0.1:${port}/`)).outcome);
    assert.equal(failure.code, 'WSR_DELIVERY_HANDSHAKE_INVALID', failure.detail);
    assert.equal(reasonLabel(failure), 'handshake_invalid');
  } finally {
    // An upgraded socket is the test's own: the server no longer tracks it.
    await closeServer(server, sockets);
  }
});

test('the server closes with 1011 before confirming: closed_1011, written and not confirmed', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  server.on('connection', (ws) => ws.once('message', () => ws.close(1011, 'internal error')));
  try {
    const { outcome, handshake } = await attempt(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    assert.equal(handshake, null, 'the handshake succeeded');
    assert.equal(outcome.status, 'failed');
    const failure = failureOf(outcome);
    assert.deepEqual(
      { code: failure.code, closeCode: failure.closeCode },
      { code: 'WSR_DELIVERY_CLOSED', closeCode: 1011 },
    );
    assert.equal(reasonLabel(failure), 'closed_1011');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a frame that breaks RFC 6455 (reserved opcode 0x3): protocol', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  server.on('connection', (ws, request) => {
    ws.once('message', () => request.socket.write(Buffer.from([0x83, 0x00])));
    ws.on('error', () => undefined);
  });
  try {
    const failure = failureOf((await attempt(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`)).outcome);
    assert.equal(failure.code, 'WSR_DELIVERY_PROTOCOL', failure.detail);
    assert.equal(reasonLabel(failure), 'protocol');
  } finally {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a server that stops answering pings: pong_timeout, not the 1006 that follows', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  server.on('connection', (ws) => ws.on('error', () => undefined));
  try {
    const failure = failureOf(
      (await attempt(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { pingTimeoutMs: 300 })).outcome,
    );
    assert.equal(failure.code, 'WSR_DELIVERY_PONG_TIMEOUT');
    assert.equal(reasonLabel(failure), 'pong_timeout');
  } finally {
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('reason labels stay within a bounded set whatever numbers a server sends', () => {
  const closed = (closeCode: number): string => reasonLabel({ code: 'WSR_DELIVERY_CLOSED', closeCode, detail: '' });
  const status = (value: number): string =>
    reasonLabel({ code: 'WSR_DELIVERY_HANDSHAKE_STATUS', status: value, detail: '' });
  assert.equal(closed(1006), 'closed_1006');
  assert.equal(closed(4321), 'closed_4xxx');
  assert.equal(closed(3000), 'closed_3xxx');
  assert.equal(closed(65535), 'closed_other');
  assert.equal(status(503), 'handshake_status_503');
  assert.equal(status(999), 'handshake_status_other');
  const labels = new Set<string>();
  for (let code = 0; code < 70_000; code += 7) labels.add(closed(code));
  for (let value = 0; value < 2000; value++) labels.add(status(value));
  assert.ok(labels.size <= 18 + 2 + 1 + 500 + 1, `${labels.size} labels`);
});
