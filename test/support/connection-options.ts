// What a worker's Connection is given, for tests that drive one on its own against a real server.
import type { ConnectionOptions } from '../../src/outputs/websocket/worker/connection.js';
import type { ClientTlsData } from '../../src/tls/options.js';

/** Confirm mode, no keepalive pings, a long pong timeout, plain ws:// unless overridden. */
export function connectionOptions(url: string, overrides: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    url,
    headers: {},
    delivery: 'confirm',
    connectTimeoutMs: 5000,
    pingIntervalMs: 0,
    pingTimeoutMs: 30_000,
    idleCloseMs: 0,
    compress: false,
    tls: null,
    ...overrides,
  };
}

/** wss:// with no files of its own: the system's trust, or none with verify false. */
export function clientTls(verify: boolean): ClientTlsData {
  return {
    ca: null,
    cert: null,
    key: null,
    passphrase: null,
    verify,
    verifyHostname: verify,
    servername: null,
    minVersion: null,
    maxVersion: null,
    ciphers: null,
  };
}
