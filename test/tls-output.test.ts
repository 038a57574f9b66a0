// The websocket output over TLS, end to end: a real relay (worker threads included) sending to
// a real wss:// server on 127.0.0.1 with certificates made by openssl at test time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testCerts } from './support/certs.js';
import { freePort, runCli } from './support/child.js';
import { TestServer, type TestServerTls } from './support/test-server.js';
import { seqReport, sendLines, startRelay, waitFor, type TestRelay } from './support/relay.js';
import type { WebSocketOutput } from '../src/outputs/websocket/main/output.js';

const certs = testCerts();
/** A server certificate signed by the test CA (for 127.0.0.1, localhost and relay.test). */
const trusted: TestServerTls = { cert: certs.pem(certs.serverCert), key: certs.pem(certs.serverKey) };
const selfSigned: TestServerTls = { cert: certs.pem(certs.selfSignedCert), key: certs.pem(certs.selfSignedKey) };
/** Requires client certificates signed by the test CA. */
const mutual: TestServerTls = { ...trusted, ca: certs.pem(certs.caFile) };
/** Retries come quickly (the first waits 1-2 s), and a stop does not wait for what cannot be sent. */
const quickRetries = { 'scheduler.base': '0.5', 'scheduler.cap': '1', grace: '0' };

function lines(count: number): string[] {
  return Array.from({ length: count }, (_, seq) => `{"seq":${seq}}`);
}

/** Sends `count` lines through the relay and checks that each arrived exactly once. */
async function delivers(relay: TestRelay, server: TestServer, count = 20): Promise<void> {
  await sendLines(relay.port, lines(count));
  await waitFor(() => server.jsonRecords().length >= count, 8000, `${count} records`);
  const report = seqReport(server.jsonRecords(), count);
  assert.deepEqual(report.missing, []);
  assert.equal(report.duplicates, 0);
}

async function withServer(tls: TestServerTls, body: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await TestServer.start({ tls });
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

async function withRelay(
  port: number,
  output: Record<string, string>,
  body: (relay: TestRelay) => Promise<void>,
  service: Record<string, string> = {},
): Promise<void> {
  const relay = await startRelay(port, output, {}, service);
  try {
    await body(relay);
  } finally {
    await relay.stop();
  }
}

test('tls on delivers over wss:// to a server whose CA is in tls.ca_file', async () => {
  await withServer(trusted, async (server) => {
    await withRelay(server.port, { tls: 'on', 'tls.ca_file': certs.caFile }, async (relay) => {
      assert.equal((relay.engine.outputs[0] as WebSocketOutput).url, `wss://127.0.0.1:${server.port}/`);
      await delivers(relay, server);
      // An IP address is never sent as SNI.
      assert.equal(server.requests[0]?.servername, false);
    });
  });
});

test('tls.verify on refuses an untrusted server with a clear error, retries, and delivers once it is trusted', async () => {
  const untrusted = await TestServer.start({ tls: selfSigned });
  const port = untrusted.port;
  let stopped = false;
  try {
    await withRelay(
      port,
      { tls: 'on', 'tls.ca_file': certs.caFile, retry_limit: 'no_limits' },
      async (relay) => {
        await sendLines(relay.port, lines(10));
        await waitFor(() => relay.logs.some((l) => l.includes('failed to flush')), 8000, 'a failed flush');
        const failure = relay.logs.find((l) => l.includes('failed to flush')) ?? '';
        assert.match(failure, /self-signed certificate: the server's certificate is not trusted \(set tls\.ca_file/);
        assert.equal(untrusted.messages.length, 0, 'nothing was sent to the untrusted server');
        assert.ok((relay.engine.outputs[0] as WebSocketOutput).stats.handshakesFailed >= 1);
        // The same address now presents a certificate from the CA: the chunk goes through.
        await untrusted.stop();
        stopped = true;
        const server = await TestServer.start({ tls: trusted }, port);
        try {
          await waitFor(() => server.jsonRecords().length >= 10, 8000, 'the retried records');
          assert.deepEqual(seqReport(server.jsonRecords(), 10).missing, []);
        } finally {
          await server.stop();
        }
      },
      quickRetries,
    );
  } finally {
    if (!stopped) await untrusted.stop();
  }
});

test('tls.verify off, or eKuiper insecureSkipVerify true, accepts a self-signed server', async () => {
  const outputs: Array<Record<string, string>> = [
    { tls: 'on', 'tls.verify': 'off' },
    { tls: 'on', insecureSkipVerify: 'true' },
  ];
  for (const output of outputs) {
    await withServer(selfSigned, async (server) => {
      await withRelay(server.port, output, (relay) => delivers(relay, server));
    });
  }
});

test('tls.vhost is sent as SNI and is the name checked in the certificate', async () => {
  await withServer(trusted, async (server) => {
    await withRelay(
      server.port,
      { tls: 'on', 'tls.ca_file': certs.caFile, 'tls.vhost': 'relay.test' },
      async (relay) => {
        await delivers(relay, server);
        assert.equal(server.requests[0]?.servername, 'relay.test');
      },
    );
  });
  await withServer(trusted, async (server) => {
    const output = { tls: 'on', 'tls.ca_file': certs.caFile, 'tls.vhost': 'elsewhere.test', retry_limit: 'no_limits' };
    await withRelay(
      server.port,
      output,
      async (relay) => {
        await sendLines(relay.port, lines(1));
        await waitFor(() => relay.logs.some((l) => l.includes('failed to flush')), 8000, 'a failed flush');
        assert.match(relay.logs.join(''), /elsewhere\.test.*set tls\.vhost to a name the certificate is for/);
        assert.equal(server.messages.length, 0);
      },
      quickRetries,
    );
    // The chain still verifies; only the name check is skipped.
    await withRelay(server.port, { ...output, 'tls.verify_hostname': 'off' }, async (relay) => {
      await delivers(relay, server, 5);
      assert.equal(server.requests.at(-1)?.servername, 'elsewhere.test');
    });
  });
});

test('a server requiring client certificates refuses the relay without one and accepts its certificate (encrypted key)', async () => {
  await withServer(mutual, async (server) => {
    const base = { tls: 'on', 'tls.ca_file': certs.caFile, retry_limit: 'no_limits' };
    await withRelay(
      server.port,
      base,
      async (relay) => {
        await sendLines(relay.port, lines(1));
        await waitFor(() => relay.logs.some((l) => l.includes('failed to flush')), 8000, 'a failed flush');
        assert.match(relay.logs.join(''), /client certificate/);
        assert.equal(server.messages.length, 0);
        assert.ok(server.tlsFailures >= 1, 'the server refused the handshake');
      },
      quickRetries,
    );
    const withCert = {
      ...base,
      'tls.crt_file': certs.clientCert,
      'tls.key_file': certs.clientKeyEncrypted,
      'tls.key_passwd': certs.passphrase,
    };
    await withRelay(server.port, withCert, async (relay) => {
      await delivers(relay, server);
      assert.equal(server.requests.at(-1)?.clientCert, 'wsrelay-client');
    });
  });
});

test("eKuiper's path and base64 keys present the client certificate and trust the CA", async () => {
  const paths = { certificationPath: certs.clientCert, privateKeyPath: certs.clientKey, rootCaPath: certs.caFile };
  const raw = {
    certificationRaw: certs.base64(certs.clientCert),
    privateKeyRaw: certs.base64(certs.clientKey),
    rootCARaw: certs.base64(certs.caFile),
  };
  for (const keys of [paths, raw]) {
    await withServer(mutual, async (server) => {
      await withRelay(server.port, { tls: 'on', ...keys }, async (relay) => {
        await delivers(relay, server, 5);
        assert.equal(server.requests[0]?.clientCert, 'wsrelay-client', Object.keys(keys).join(', '));
      });
    });
  }
});

test('http_user/http_passwd (Basic) and bearer_token reach the server as Authorization, beside Header lines', async () => {
  const cases: Array<[Record<string, string>, string]> = [
    [
      { http_user: 'alice', http_passwd: 's3cret: with spaces' },
      `Basic ${Buffer.from('alice:s3cret: with spaces').toString('base64')}`,
    ],
    [{ http_user: 'bob' }, `Basic ${Buffer.from('bob:').toString('base64')}`],
    [{ bearer_token: 'tok.en-123' }, 'Bearer tok.en-123'],
  ];
  await withServer(trusted, async (server) => {
    for (const [auth, expected] of cases) {
      const before = server.requests.length;
      await withRelay(
        server.port,
        { tls: 'on', 'tls.ca_file': certs.caFile, header: 'X-Tenant acme', ...auth },
        async () => {
          // Workers connect at start: the handshake alone carries the headers.
          await waitFor(() => server.requests.length > before, 5000, 'a handshake');
          const headers = server.requests.at(-1)!.headers;
          assert.equal(headers.authorization, expected);
          assert.equal(headers['x-tenant'], 'acme');
        },
      );
    }
  });
});

test('the real CLI: -o wss:// with tls.ca_file delivers, and --dry-run prints no key', async () => {
  const server = await TestServer.start({ tls: trusted });
  const port = await freePort();
  const args = [
    '-i',
    'tcp',
    '-p',
    'listen=127.0.0.1',
    '-p',
    `port=${port}`,
    '-o',
    `wss://127.0.0.1:${server.port}/feed`,
    '-p',
    `tls.ca_file=${certs.caFile}`,
    '-p',
    `tls.crt_file=${certs.clientCert}`,
    '-p',
    `tls.key_file=${certs.clientKey}`,
    '-p',
    'format=json_lines',
    '-f',
    '0.1',
  ];
  const dry = runCli([...args, '--dry-run']);
  assert.equal(await dry.exited, 0, dry.stderr);
  assert.ok(dry.stdout.includes(certs.clientKey) && !dry.stdout.includes('PRIVATE KEY'), dry.stdout);
  const child = runCli(args);
  try {
    await waitFor(() => child.stderr.includes(`listening on 127.0.0.1:${port}`), 10_000, 'listening');
    await sendLines(port, lines(3));
    await waitFor(() => server.jsonRecords().length === 3, 8000, 'three records');
    assert.equal(server.requests[0]?.url, '/feed');
    assert.match(child.stderr, new RegExp(`sending to wss://127\\.0\\.0\\.1:${server.port}/feed`));
    child.process.kill('SIGTERM');
    assert.equal(await child.exited, 0);
  } finally {
    child.process.kill('SIGKILL');
    await server.stop();
  }
});
