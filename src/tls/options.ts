// Resolved TLS settings (src/tls/config.ts) → the options of Node's TLS APIs, for every socket
// that may cross a network: the websocket output's connections (in worker threads, hence the
// plain-data form), the inputs, the metrics server and websocket_server. Also the wording of
// handshake failures, so a log line says what to change, not only what OpenSSL saw.
import type { ConnectionOptions, SecureContextOptions, Server as TlsServer, TlsOptions, TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import type { ClientTls, ServerTls, TlsMaterial, TlsProtocol, TlsVersion } from './config.js';

/** A client's TLS settings as plain data: structured-cloned into each worker thread. */
export interface ClientTlsData {
  readonly ca: string | null;
  readonly cert: string | null;
  readonly key: string | null;
  readonly passphrase: string | null;
  readonly verify: boolean;
  readonly verifyHostname: boolean;
  readonly servername: string | null;
  readonly minVersion: TlsVersion | null;
  readonly maxVersion: TlsVersion | null;
  readonly ciphers: string | null;
}

/** A TLS handshake must not hold a socket longer than this (slow or silent peers). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export function clientTlsData(tls: ClientTls): ClientTlsData {
  return {
    ca: tls.ca?.text ?? null,
    cert: tls.cert?.text ?? null,
    key: tls.key?.text ?? null,
    passphrase: tls.passphrase?.value ?? null,
    verify: tls.verify,
    verifyHostname: tls.verifyHostname,
    servername: tls.servername,
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ciphers: tls.ciphers,
  };
}

function material(m: Pick<ClientTlsData, 'ca' | 'cert' | 'key' | 'passphrase'>): SecureContextOptions {
  const options: SecureContextOptions = {};
  if (m.ca !== null) options.ca = m.ca;
  if (m.cert !== null) options.cert = m.cert;
  if (m.key !== null) options.key = m.key;
  if (m.passphrase !== null) options.passphrase = m.passphrase;
  return options;
}

function protocol(p: Partial<TlsProtocol>): SecureContextOptions {
  const options: SecureContextOptions = {};
  if (p.minVersion) options.minVersion = p.minVersion;
  if (p.maxVersion) options.maxVersion = p.maxVersion;
  if (p.ciphers) options.ciphers = p.ciphers;
  return options;
}

/** Options for tls.connect (and so for `ws`, which passes them through). */
export function clientConnectOptions(data: ClientTlsData): ConnectionOptions {
  const options: ConnectionOptions = { ...material(data), ...protocol(data), rejectUnauthorized: data.verify };
  if (data.servername !== null) options.servername = data.servername;
  // The chain is still verified; only the name check is skipped (Fluent Bit's default).
  if (!data.verifyHostname) options.checkServerIdentity = () => undefined;
  return options;
}

function plain(m: TlsMaterial): Pick<ClientTlsData, 'ca' | 'cert' | 'key' | 'passphrase'> {
  return {
    ca: m.ca?.text ?? null,
    cert: m.cert?.text ?? null,
    key: m.key?.text ?? null,
    passphrase: m.passphrase?.value ?? null,
  };
}

/** Options for tls.createServer / https.createServer. */
export function serverOptions(tls: ServerTls): TlsOptions {
  return {
    ...material(plain(tls)),
    ...protocol(tls),
    // mTLS: ask for a certificate and refuse the handshake without a valid one.
    requestCert: tls.requireClientCert,
    rejectUnauthorized: tls.requireClientCert,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  };
}

/**
 * Logs failed handshakes of a TLS listener (plain-text clients, missing or untrusted client
 * certificates), once per burst, and counts them: a misbehaving peer costs a log line, no more.
 */
export function watchHandshakes(server: TlsServer, log: Logger, onFailure: () => void): void {
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    onFailure();
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    log.burst('warn', 'tls handshake', `TLS handshake with ${peer} failed: ${explainServerTlsError(error)}`);
    socket.destroy();
  });
}

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** The error came from TLS (certificate, protocol version, a peer that does not speak TLS). */
export function isTlsError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return (
    UNTRUSTED.has(code) ||
    code === 'EPROTO' ||
    code.startsWith('CERT_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_')
  );
}

/** A client-side failure, with what to change: the error text alone rarely says it. */
export function explainTlsError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = opensslReason(error);
  if (UNTRUSTED.has(code)) {
    return `${message}: the server's certificate is not trusted (set tls.ca_file to the CA that signed it, or tls.verify off)`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `${message}: the server's certificate is outside its validity dates`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `${message} (set tls.vhost to a name the certificate is for, or tls.verify_hostname off)`;
  }
  if (
    /certificate required|handshake failure|unknown ca|bad certificate/i.test(message) &&
    code.startsWith('ERR_SSL')
  ) {
    return `${message}: the server wants a client certificate it trusts (tls.crt_file, tls.key_file)`;
  }
  if (/wrong version number|packet length too long|unknown protocol/i.test(message)) {
    return `${message}: the server does not speak TLS on this port (tls off, ws://)`;
  }
  return message;
}

/** OpenSSL's messages carry addresses and source paths; its `reason` is the readable part. */
function opensslReason(error: Error): string {
  const reason = (error as Error & { reason?: unknown }).reason;
  return typeof reason === 'string' && reason !== '' ? reason : error.message;
}

function explainServerTlsError(error: Error): string {
  const message = opensslReason(error);
  if (/peer did not return a certificate|certificate required/i.test(message))
    return 'the client sent no certificate (mTLS is required)';
  if (/wrong version number|http request|unknown protocol|packet length too long/i.test(message))
    return 'the client does not speak TLS';
  return message;
}
