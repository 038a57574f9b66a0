// The forward protocol's shared-key handshake (Forward Protocol Specification v1, "Handshake
// Messages"): at connect the server sends HELO with a nonce; the client answers
//   ['PING', client_hostname, shared_key_salt, sha512_hex(salt + client_hostname + nonce + shared_key),
//    username, password_digest]
// and the server answers
//   ['PONG', authenticated, reason, server_hostname, sha512_hex(salt + server_hostname + nonce + shared_key)].
// Every field is taken as the bytes it is, str or bin alike: Fluent Bit's forward output packs
// its 16 random salt bytes as a msgpack *str* (msgpack_pack_str(16) + the raw bytes), which is
// not UTF-8, and hashes them raw. Decoded as UTF-8 (msgpackr) they became U+FFFD and no Fluent
// Bit agent with Shared_Key could authenticate. Fluentd's client checks the PONG digest (Fluent
// Bit only its 'PONG' and true). User authentication (the HELO's auth salt) is not offered:
// auth is '', so username and password digest are ignored.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Packr } from 'msgpackr';
import { MsgpackReader } from '../codec/msgpack-reader.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** A PING's fields, as views of the message's bytes. */
export interface Ping {
  readonly hostname: Buffer;
  readonly salt: Buffer;
  readonly digest: Buffer;
}

/** A PING is a few hundred bytes (Fluent Bit's reads the answer into 1 KB): larger is refused. */
export const MAX_HANDSHAKE_BYTES = 64 * 1024;

const PING = Buffer.from('PING');

/** The str or bin at the reader's position, as a view of its bytes (the reader moved past it), or null. */
function bytesAt(r: MsgpackReader, b: Buffer): Buffer | null {
  const at = r.pos;
  if (!r.strHeader() && !r.binHeader()) return null;
  const from = r.pos;
  const to = from + r.count;
  if (to > r.end) {
    r.pos = at;
    return null;
  }
  r.pos = to;
  return b.subarray(from, to);
}

/** The PING in b[start, end) (one framed message), or why it is not one. */
export function readPing(b: Buffer, start: number, end: number): Ping | string {
  const r = new MsgpackReader(b, start, end);
  if (!r.arrayHeader() || r.count < 4) return 'expected a PING (shared_key is set)';
  const fields: Buffer[] = [];
  for (let i = 0; i < 4; i++) {
    const field = bytesAt(r, b);
    if (i === 0 && (field === null || !field.equals(PING))) return 'expected a PING (shared_key is set)';
    if (field === null) return `PING field ${i} is not a string`;
    fields.push(field);
  }
  // The username and password digest (or anything else) after them: framed, not used.
  r.pos = start;
  if (!r.skip() || r.pos !== end) return 'a PING ends past the message';
  return { hostname: fields[1]!, salt: fields[2]!, digest: fields[3]! };
}

/** sha512_hex(salt + hostname + nonce + shared_key), every part as its bytes. */
export function sharedKeyDigest(
  salt: Uint8Array,
  hostname: Uint8Array | string,
  nonce: Uint8Array,
  sharedKey: string,
): string {
  return createHash('sha512').update(salt).update(hostname).update(nonce).update(sharedKey).digest('hex');
}

/** ['HELO', {nonce, auth: '', keepalive: true}]: the nonce as bin. */
export function heloMessage(nonce: Buffer): Buffer {
  return packr.pack(['HELO', { nonce, auth: '', keepalive: true }]);
}

/** Whether the PING's digest is the one for this nonce and key (compared in constant time). */
export function pingAuthenticates(ping: Ping, nonce: Uint8Array, sharedKey: string): boolean {
  const expected = Buffer.from(sharedKeyDigest(ping.salt, ping.hostname, nonce, sharedKey), 'latin1');
  return expected.length === ping.digest.length && timingSafeEqual(expected, ping.digest);
}

/** The PONG for a PING: authenticated with the server's digest, or refused with the reason. */
export function pongMessage(
  ping: Ping,
  authenticated: boolean,
  reason: string,
  selfHostname: string,
  nonce: Uint8Array,
  sharedKey: string,
): Buffer {
  if (!authenticated) return packr.pack(['PONG', false, reason, '', '']);
  return packr.pack(['PONG', true, '', selfHostname, sharedKeyDigest(ping.salt, selfHostname, nonce, sharedKey)]);
}
