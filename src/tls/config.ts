// TLS settings as config files spell them (Fluent Bit's tls.* keys, eKuiper's aliases) →
// certificates and keys read and checked at start. A missing file, a key that does not match
// its certificate or a wrong key password fails the start with file, line and key, instead of
// failing every connection later. What is read is kept as PEM text: plain data that can cross
// into worker threads and be handed to any Node TLS API.
import { X509Certificate } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config/errors.js';
import { readRegularFile, UnreadableFile } from '../config/files.js';
import { parseText, prop, type Schema, type SchemaValues } from '../config/schema-kit.js';
import { Secret } from '../config/secret.js';
import { lastAt } from '../config/sections.js';
import type { RawSection } from '../config/raw.js';
import { badValue, parseBoolean, type ValueParser } from '../config/values.js';

/** PEM text read at start. `--dry-run` prints the config as JSON: it shows where it came from. */
export class Pem {
  constructor(
    readonly text: string,
    readonly from: string,
  ) {}

  toJSON(): string {
    return this.from;
  }
}

export interface TlsMaterial {
  readonly ca: Pem | null;
  readonly cert: Pem | null;
  readonly key: Pem | null;
  readonly passphrase: Secret | null;
}

/** Protocol limits (tls.min_version, tls.max_version, tls.ciphers); null = Node's defaults. */
export interface TlsProtocol {
  readonly minVersion: TlsVersion | null;
  readonly maxVersion: TlsVersion | null;
  /** An OpenSSL cipher list (TLS 1.2 and below). */
  readonly ciphers: string | null;
}

export type TlsVersion = 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** The websocket output's side of a connection. */
export interface ClientTls extends TlsMaterial, TlsProtocol {
  /** Refuse a server whose certificate chain does not verify. */
  readonly verify: boolean;
  /** Also refuse a certificate that is not for the host name (or tls.vhost). */
  readonly verifyHostname: boolean;
  /** tls.vhost: the name sent in SNI and checked in the certificate; null = the host. */
  readonly servername: string | null;
}

/** A listener (inputs, metrics server, websocket_server). */
export interface ServerTls extends TlsMaterial, Partial<TlsProtocol> {
  /** mTLS: a client without a certificate signed by `ca` is refused in the handshake. */
  readonly requireClientCert: boolean;
}

// ---- schema fragments -----------------------------------------------------------------------

const parseBase64: ValueParser<string> = (v, ctx) => {
  const text = v.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw badValue(ctx, 'base64 text (of a PEM file)', v);
  return text;
};

const text = (description: string) => prop<string | null>(parseText, null, description);

/** `TLSv1.2`, also written `tlsv1.2` or `1.2`. */
const parseVersion: ValueParser<TlsVersion> = (v, ctx) => {
  const m = /^(?:tlsv?)?1\.([123])$/i.exec(v.trim());
  if (m === null) throw badValue(ctx, 'TLSv1.1, TLSv1.2 or TLSv1.3', v);
  return `TLSv1.${m[1]}` as TlsVersion;
};

const PROTOCOL_KEYS = {
  'tls.min_version': prop<TlsVersion | null>(
    parseVersion,
    null,
    'Oldest TLS version accepted: TLSv1.1|TLSv1.2|TLSv1.3',
    { shown: 'TLSv1.2' },
  ),
  'tls.max_version': prop<TlsVersion | null>(parseVersion, null, 'Newest TLS version offered', { shown: 'TLSv1.3' }),
  'tls.ciphers': text("OpenSSL cipher list for TLS 1.2 and older (default: OpenSSL's)"),
} as const satisfies Schema;
const debug = prop<string | null>(parseText, null, 'Accepted for Fluent Bit compatibility; no effect');

/** The websocket output (a TLS client): Fluent Bit's keys, then eKuiper's aliases. */
export const CLIENT_TLS_KEYS = {
  tls: prop(parseBoolean, false, 'TLS (wss://); an -o wss:// URL turns it on'),
  'tls.verify': prop(parseBoolean, true, 'Refuse a server whose certificate does not verify against the CAs'),
  'tls.verify_hostname': prop(
    parseBoolean,
    true,
    'Also refuse a certificate not issued for host (or tls.vhost) (Fluent Bit: off)',
  ),
  'tls.ca_file': text('CA certificates (PEM) to trust instead of the system ones'),
  'tls.ca_path': text('Directory of CA certificate files (PEM), added to tls.ca_file'),
  'tls.crt_file': text('Client certificate (PEM), for servers that require one (mTLS)'),
  'tls.key_file': text('Private key (PEM) of tls.crt_file'),
  'tls.key_passwd': text('Password of an encrypted tls.key_file'),
  'tls.vhost': text('Host name sent in SNI and checked in the certificate (default: host)'),
  ...PROTOCOL_KEYS,
  'tls.debug': debug,
  insecureskipverify: prop(parseBoolean, false, "eKuiper's insecureSkipVerify: true = tls.verify off"),
  certificationpath: text("eKuiper's name for tls.crt_file"),
  privatekeypath: text("eKuiper's name for tls.key_file"),
  rootcapath: text("eKuiper's name for tls.ca_file"),
  certificationraw: prop<string | null>(parseBase64, null, 'Client certificate as base64 PEM (eKuiper); a path wins'),
  privatekeyraw: prop<string | null>(parseBase64, null, 'Private key as base64 PEM (eKuiper); a path wins'),
  rootcaraw: prop<string | null>(parseBase64, null, 'CA certificates as base64 PEM (eKuiper); a path wins'),
} as const satisfies Schema;

/** tcp, http and forward inputs: a server certificate, and optional client certificates (mTLS). */
export const LISTENER_TLS_KEYS = {
  tls: prop(parseBoolean, false, 'Accept TLS connections (needs tls.crt_file and tls.key_file)'),
  'tls.verify': prop(parseBoolean, true, 'With tls.ca_file set: require client certificates signed by it (mTLS)'),
  'tls.verify_client_cert': prop(parseBoolean, false, 'Require a client certificate signed by tls.ca_file (mTLS)'),
  'tls.ca_file': text('CA certificates (PEM) that client certificates must be signed by'),
  'tls.crt_file': text('Server certificate chain (PEM)'),
  'tls.key_file': text('Private key (PEM) of tls.crt_file'),
  'tls.key_passwd': text('Password of an encrypted tls.key_file'),
  ...PROTOCOL_KEYS,
  'tls.debug': debug,
} as const satisfies Schema;

/** The metrics server ([SERVICE] keys, next to http_listen and http_port). */
export const METRICS_TLS_KEYS = {
  http_tls: prop(parseBoolean, false, 'Serve the metrics over HTTPS (needs http_tls.crt_file and http_tls.key_file)'),
  'http_tls.crt_file': text('Certificate chain (PEM) of the metrics server'),
  'http_tls.key_file': text('Private key (PEM) of http_tls.crt_file'),
  'http_tls.key_passwd': text('Password of an encrypted http_tls.key_file'),
} as const satisfies Schema;

// ---- resolving ------------------------------------------------------------------------------

export interface TlsContext {
  readonly section: RawSection;
  /** Section label as errors show it: `OUTPUT websocket.0`. */
  readonly label: string;
  readonly warnings: string[];
}

/** What a listener's keys say, whatever they are called (`tls.*` or `http_tls.*`). */
interface ListenerWritten {
  readonly enabled: boolean;
  readonly requireClientCert: boolean;
  readonly caFile: string | null;
  readonly crtFile: string | null;
  readonly keyFile: string | null;
  readonly keyPasswd: string | null;
}

interface KeyNames {
  readonly tls: string;
  readonly ca: string;
  readonly crt: string;
  readonly key: string;
  readonly passwd: string;
}

const TLS_KEYS: KeyNames = {
  tls: 'tls',
  ca: 'tls.ca_file',
  crt: 'tls.crt_file',
  key: 'tls.key_file',
  passwd: 'tls.key_passwd',
};

function fail(ctx: TlsContext, key: string, detail: string): ConfigError {
  return new ConfigError('WSR_CONFIG_BAD_VALUE', `property '${key}': ${detail}`, {
    at: lastAt(ctx.section, key) ?? ctx.section.at,
    key,
    section: ctx.label,
  });
}

/** A PEM file (a certificate chain, a key, a CA bundle) is small: a system CA bundle is ~220 KB. */
const PEM_FILE_LIMIT = 4 * 1024 * 1024;

function readText(ctx: TlsContext, key: string, path: string): string {
  try {
    // Regular files only, bounded (config/files.ts): `tls.ca_file /dev/zero` or a FIFO hung the start.
    return readRegularFile(path, PEM_FILE_LIMIT, 'a PEM file').text;
  } catch (error) {
    if (!(error instanceof UnreadableFile)) throw error;
    throw fail(ctx, key, `cannot read ${path}: ${error.why}`);
  }
}

const CERT_BEGIN = '-----BEGIN CERTIFICATE-----';
const CERT_END = '-----END CERTIFICATE-----';

/** The certificate blocks of a PEM text, found with indexOf (a lazy regex backtracked on BEGINs without END). */
function certificateBlocks(pem: string): string[] {
  const blocks: string[] = [];
  let at = pem.indexOf(CERT_BEGIN);
  while (at >= 0) {
    const end = pem.indexOf(CERT_END, at + CERT_BEGIN.length);
    if (end < 0) break;
    blocks.push(pem.slice(at, end + CERT_END.length));
    at = pem.indexOf(CERT_BEGIN, end + CERT_END.length);
  }
  return blocks;
}

/** Certificates in PEM: at least one, each one parsable (OpenSSL would skip a broken CA quietly). */
function certificates(ctx: TlsContext, key: string, pem: string, from: string): Pem {
  const blocks = certificateBlocks(pem);
  if (blocks.length === 0) throw fail(ctx, key, `${from} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw fail(ctx, key, `${from} holds a certificate that does not parse: ${(error as Error).message}`);
    }
  }
  return new Pem(pem, from);
}

function privateKey(ctx: TlsContext, key: string, pem: string, from: string): Pem {
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    throw fail(ctx, key, `${from} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  }
  return new Pem(pem, from);
}

/** A path, else eKuiper's base64 form (the path wins, as in eKuiper, with a warning). */
function pick(
  ctx: TlsContext,
  pathKey: string,
  path: string | null,
  rawKey: string,
  raw: string | null,
): { key: string; pem: string; from: string } | null {
  if (path !== null) {
    if (raw !== null) ctx.warnings.push(`[${ctx.label}] '${rawKey}' is ignored: '${pathKey}' is set and wins`);
    return { key: pathKey, pem: readText(ctx, pathKey, path), from: path };
  }
  if (raw === null) return null;
  return { key: rawKey, pem: Buffer.from(raw, 'base64').toString('utf8'), from: `${rawKey} (base64)` };
}

/** Every CA file of a directory (OpenSSL's CApath holds one certificate per file). */
function caDirectory(ctx: TlsContext, key: string, dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw fail(ctx, key, `cannot read the directory ${dir}: ${(error as Error).message}`);
  }
  const pems = names
    .map((name) => {
      try {
        return readRegularFile(join(dir, name), PEM_FILE_LIMIT, 'a PEM file').text;
      } catch {
        return ''; // a subdirectory, a device, an unreadable or huge file: not a CA file
      }
    })
    .filter((pem) => pem.includes('-----BEGIN CERTIFICATE-----'));
  if (pems.length === 0) throw fail(ctx, key, `${dir} holds no PEM certificate file`);
  return pems.join('\n');
}

/** Checks that the key opens with the password and belongs to the certificate. */
function checkPair(ctx: TlsContext, keys: KeyNames, m: TlsMaterial): void {
  if ((m.cert === null) !== (m.key === null)) {
    throw fail(ctx, m.cert === null ? keys.key : keys.crt, `needs ${m.cert === null ? keys.crt : keys.key} too`);
  }
  if (m.passphrase !== null && m.key === null) throw fail(ctx, keys.passwd, `needs ${keys.key}`);
  if (m.key === null || m.cert === null) return;
  if (/ENCRYPTED/.test(m.key.text) && m.passphrase === null) {
    throw fail(ctx, keys.key, `${m.key.from} is encrypted: set ${keys.passwd}`);
  }
  try {
    createSecureContext({ cert: m.cert.text, key: m.key.text, passphrase: m.passphrase?.value });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ERR_OSSL_BAD_DECRYPT') throw fail(ctx, keys.passwd, `does not decrypt ${m.key.from}`);
    if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
      throw fail(ctx, keys.key, `${m.key.from} is not the key of the certificate in ${m.cert.from}`);
    }
    throw fail(ctx, keys.key, `${m.key.from} cannot be used with ${m.cert.from}: ${(error as Error).message}`);
  }
}

/** Versions in order, and a cipher list OpenSSL understands (else every handshake would fail). */
function resolveProtocol(v: SchemaValues<typeof PROTOCOL_KEYS>, ctx: TlsContext): TlsProtocol {
  const min = v['tls.min_version'];
  const max = v['tls.max_version'];
  if (min !== null && max !== null && min > max)
    throw fail(ctx, 'tls.max_version', `${max} is older than tls.min_version ${min}`);
  const ciphers = v['tls.ciphers'];
  if (ciphers !== null) {
    try {
      createSecureContext({ ciphers });
    } catch (error) {
      throw fail(ctx, 'tls.ciphers', `OpenSSL accepts none of '${ciphers}': ${(error as Error).message}`);
    }
  }
  return { minVersion: min, maxVersion: max, ciphers };
}

/** Warns about TLS files given while TLS is off: they would be silently ignored otherwise. */
function warnUnused(
  ctx: TlsContext,
  tlsKey: string,
  keys: readonly string[],
  values: Readonly<Record<string, unknown>>,
): void {
  const set = keys.filter((k) => values[k] !== null && values[k] !== undefined);
  if (set.length > 0)
    ctx.warnings.push(
      `[${ctx.label}] ${set.join(', ')} ${set.length > 1 ? 'have' : 'has'} no effect while ${tlsKey} is off`,
    );
}

export function resolveClientTls(v: SchemaValues<typeof CLIENT_TLS_KEYS>, ctx: TlsContext): ClientTls | null {
  const files = [
    'tls.ca_file',
    'tls.ca_path',
    'tls.crt_file',
    'tls.key_file',
    'tls.key_passwd',
    'tls.vhost',
    'certificationpath',
    'privatekeypath',
    'rootcapath',
    'certificationraw',
    'privatekeyraw',
    'rootcaraw',
  ] as const;
  if (!v.tls) {
    warnUnused(ctx, 'tls', files, v);
    return null;
  }
  // Fluent Bit's key wins over its eKuiper alias; the alias is only read when the key is absent.
  const crt = pick(
    ctx,
    v['tls.crt_file'] !== null ? 'tls.crt_file' : 'certificationpath',
    v['tls.crt_file'] ?? v.certificationpath,
    'certificationraw',
    v.certificationraw,
  );
  const key = pick(
    ctx,
    v['tls.key_file'] !== null ? 'tls.key_file' : 'privatekeypath',
    v['tls.key_file'] ?? v.privatekeypath,
    'privatekeyraw',
    v.privatekeyraw,
  );
  const ca = pick(
    ctx,
    v['tls.ca_file'] !== null ? 'tls.ca_file' : 'rootcapath',
    v['tls.ca_file'] ?? v.rootcapath,
    'rootcaraw',
    v.rootcaraw,
  );
  let caPem = ca === null ? null : certificates(ctx, ca.key, ca.pem, ca.from);
  if (v['tls.ca_path'] !== null) {
    const fromDir = certificates(
      ctx,
      'tls.ca_path',
      caDirectory(ctx, 'tls.ca_path', v['tls.ca_path']),
      v['tls.ca_path'],
    );
    caPem = caPem === null ? fromDir : new Pem(`${caPem.text}\n${fromDir.text}`, `${caPem.from}, ${fromDir.from}`);
  }
  const material: TlsMaterial = {
    ca: caPem,
    cert: crt === null ? null : certificates(ctx, crt.key, crt.pem, crt.from),
    key: key === null ? null : privateKey(ctx, key.key, key.pem, key.from),
    passphrase: v['tls.key_passwd'] === null ? null : new Secret(v['tls.key_passwd']),
  };
  checkPair(ctx, { ...TLS_KEYS, crt: crt?.key ?? 'tls.crt_file', key: key?.key ?? 'tls.key_file' }, material);
  return {
    ...material,
    ...resolveProtocol(v, ctx),
    verify: v['tls.verify'] && !v.insecureskipverify,
    verifyHostname: v['tls.verify_hostname'],
    servername: v['tls.vhost'],
  };
}

function resolveListener(w: ListenerWritten, keys: KeyNames, ctx: TlsContext): ServerTls | null {
  if (!w.enabled) {
    warnUnused(ctx, keys.tls, [keys.ca, keys.crt, keys.key, keys.passwd], {
      [keys.ca]: w.caFile,
      [keys.crt]: w.crtFile,
      [keys.key]: w.keyFile,
      [keys.passwd]: w.keyPasswd,
    });
    return null;
  }
  // Caught here rather than at the first connection: a relay that starts must be able to serve.
  if (w.crtFile === null || w.keyFile === null) throw fail(ctx, keys.tls, `on needs both ${keys.crt} and ${keys.key}`);
  if (w.requireClientCert && w.caFile === null) {
    throw fail(
      ctx,
      keys.tls === 'tls' ? 'tls.verify_client_cert' : keys.tls,
      `client certificates need ${keys.ca} (the CA that signs them)`,
    );
  }
  const material: TlsMaterial = {
    ca: w.caFile === null ? null : certificates(ctx, keys.ca, readText(ctx, keys.ca, w.caFile), w.caFile),
    cert: certificates(ctx, keys.crt, readText(ctx, keys.crt, w.crtFile), w.crtFile),
    key: privateKey(ctx, keys.key, readText(ctx, keys.key, w.keyFile), w.keyFile),
    passphrase: w.keyPasswd === null ? null : new Secret(w.keyPasswd),
  };
  checkPair(ctx, keys, material);
  return { ...material, requireClientCert: w.requireClientCert };
}

/**
 * tcp, http and forward. Client certificates are required when `tls.verify_client_cert` is on
 * (Fluent Bit 5's key), or when `tls.ca_file` is given and `tls.verify` is on (the default):
 * a CA on a listener has no other use, and Fluent Bit's inputs verify clients that way too.
 */
export function resolveListenerTls(v: SchemaValues<typeof LISTENER_TLS_KEYS>, ctx: TlsContext): ServerTls | null {
  const requireClientCert = v['tls.verify_client_cert'] || (v['tls.verify'] && v['tls.ca_file'] !== null);
  const listener = resolveListener(
    {
      enabled: v.tls,
      requireClientCert,
      caFile: v['tls.ca_file'],
      crtFile: v['tls.crt_file'],
      keyFile: v['tls.key_file'],
      keyPasswd: v['tls.key_passwd'],
    },
    TLS_KEYS,
    ctx,
  );
  return listener === null ? null : { ...listener, ...resolveProtocol(v, ctx) };
}

/** A listener without client certificates (websocket_server: browsers have none). */
export function resolveServerTls(
  v: {
    readonly tls: boolean;
    readonly 'tls.crt_file': string | null;
    readonly 'tls.key_file': string | null;
    readonly 'tls.key_passwd': string | null;
  },
  ctx: TlsContext,
): ServerTls | null {
  return resolveListener(
    {
      enabled: v.tls,
      requireClientCert: false,
      caFile: null,
      crtFile: v['tls.crt_file'],
      keyFile: v['tls.key_file'],
      keyPasswd: v['tls.key_passwd'],
    },
    TLS_KEYS,
    ctx,
  );
}

export function resolveMetricsTls(v: SchemaValues<typeof METRICS_TLS_KEYS>, ctx: TlsContext): ServerTls | null {
  return resolveListener(
    {
      enabled: v.http_tls,
      requireClientCert: false,
      caFile: null,
      crtFile: v['http_tls.crt_file'],
      keyFile: v['http_tls.key_file'],
      keyPasswd: v['http_tls.key_passwd'],
    },
    {
      tls: 'http_tls',
      ca: 'http_tls.ca_file',
      crt: 'http_tls.crt_file',
      key: 'http_tls.key_file',
      passwd: 'http_tls.key_passwd',
    },
    ctx,
  );
}
