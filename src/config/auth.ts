// The websocket output's handshake credentials: http_user/http_passwd (Basic, as Fluent Bit's
// http output) or bearer_token (as Vector's auth.strategy bearer), next to free Header lines.
// Two ways of setting the same header would leave the user guessing which one is sent, so a
// combination is refused at start.
import { ConfigError } from './errors.js';
import { Secret } from './secret.js';
import { lastAt } from './sections.js';
import type { RawSection } from './raw.js';

export interface AuthValues {
  readonly http_user: string | null;
  readonly http_passwd: string | null;
  readonly bearer_token: string | null;
  readonly header: ReadonlyArray<readonly [string, string]>;
}

/** The Authorization header value, or null; warns when it would travel in clear text. */
export function resolveAuthorization(
  v: AuthValues,
  tls: boolean,
  section: RawSection,
  label: string,
  warnings: string[],
): Secret | null {
  const fail = (key: string, detail: string): ConfigError =>
    new ConfigError('WSR_CONFIG_BAD_VALUE', `property '${key}': ${detail}`, {
      at: lastAt(section, key) ?? section.at,
      key,
      section: label,
    });
  if (v.http_passwd !== null && v.http_user === null) throw fail('http_passwd', 'needs http_user');
  if (v.http_user !== null && v.bearer_token !== null) {
    throw fail('bearer_token', 'set http_user (Basic) or bearer_token (Bearer), not both');
  }
  const key = v.http_user !== null ? 'http_user' : v.bearer_token !== null ? 'bearer_token' : null;
  if (key === null) return null;
  if (v.header.some(([name]) => name.toLowerCase() === 'authorization')) {
    throw fail(key, 'a Header Authorization line sets the same header: keep one of them');
  }
  if (!tls) warnings.push(`[${label}] ${key} is sent in clear text over ws://: consider tls on`);
  if (v.http_user !== null) {
    return new Secret(`Basic ${Buffer.from(`${v.http_user}:${v.http_passwd ?? ''}`, 'utf8').toString('base64')}`);
  }
  return new Secret(`Bearer ${v.bearer_token ?? ''}`);
}
