// Who may open a socket, decided on the upgrade request before any WebSocket exists, so a
// refused client gets a plain HTTP status and a closed connection (fluent-plugin-websocket
// answered a bad token with a message on an open socket).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Constant-time token check. Both sides are hashed first so the comparison always runs over 32
 * bytes: timingSafeEqual needs equal lengths, and comparing lengths first would leak the
 * token's length.
 */
export class TokenCheck {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  accepts(candidate: string | null): boolean {
    return timingSafeEqual(this.digest, sha256(candidate ?? '')) && candidate !== null;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The token a client offers: `Authorization: Bearer <token>`, else `?token=`. */
export function offeredToken(request: IncomingMessage, params: URLSearchParams): string | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1]!;
  }
  return params.get('token');
}

/**
 * Origin check against cross-site WebSocket hijacking: a page on another site cannot read
 * the feed through a visitor's browser. Only browsers send Origin, so a request without one
 * (a service, curl) is not refused here; the token is what authenticates those.
 */
export function originAllowed(request: IncomingMessage, allowed: readonly string[] | null): boolean {
  if (allowed === null) return true;
  const origin = request.headers.origin;
  // No automatic same-host pass: with DNS rebinding an attacker's page can share the host name;
  // to use the live-tail page, list the relay's own origin.
  return origin === undefined || allowed.includes(origin.toLowerCase());
}
