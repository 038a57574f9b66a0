// What went wrong with a connection, as a coded DeliveryFailure (protocol.ts). The codes come
// from the error's own code where Node gives one; ws's handshake errors carry none, so their
// texts (lib/websocket.js: "Unexpected server response: <status>", "Opening handshake has timed
// out") are read here and nowhere else, and test/delivery-failures.test.ts meets each against a
// real server.
import type { DeliveryFailure } from '../protocol.js';
import { explainTlsError, isTlsError } from '../../../tls/options.js';

const UNEXPECTED_RESPONSE = /^Unexpected server response: (\d{3})$/;
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const NETWORK = new Set([
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'ECONNABORTED',
]);

/** An error before or during the handshake. */
export function handshakeFailure(error: Error): DeliveryFailure {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const detail = explainTlsError(error);
  if (isTlsError(error)) return { code: 'WSR_DELIVERY_TLS', detail };
  if (code === 'ECONNREFUSED') return { code: 'WSR_DELIVERY_REFUSED', detail };
  if (DNS.has(code)) return { code: 'WSR_DELIVERY_DNS', detail };
  if (code === 'ETIMEDOUT' || error.message === 'Opening handshake has timed out') {
    return { code: 'WSR_DELIVERY_CONNECT_TIMEOUT', detail };
  }
  if (NETWORK.has(code)) return { code: 'WSR_DELIVERY_NETWORK', detail };
  const status = UNEXPECTED_RESPONSE.exec(error.message);
  if (status) return { code: 'WSR_DELIVERY_HANDSHAKE_STATUS', status: Number(status[1]), detail };
  return { code: 'WSR_DELIVERY_HANDSHAKE_INVALID', detail };
}

/** An error on an open connection: ws's own codes (WS_ERR_*) mean the server broke RFC 6455. */
export function connectionFailure(error: Error): DeliveryFailure {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (code.startsWith('WS_ERR_')) return { code: 'WSR_DELIVERY_PROTOCOL', detail: error.message };
  if (isTlsError(error)) return { code: 'WSR_DELIVERY_TLS', detail: explainTlsError(error) };
  return { code: 'WSR_DELIVERY_NETWORK', detail: error.message };
}

export function closedFailure(closeCode: number, reason: string): DeliveryFailure {
  return {
    code: 'WSR_DELIVERY_CLOSED',
    closeCode,
    detail: `connection closed (code ${closeCode}${reason ? `, ${reason}` : ''})`,
  };
}

export function pongTimeout(pingTimeoutMs: number): DeliveryFailure {
  return { code: 'WSR_DELIVERY_PONG_TIMEOUT', detail: `no pong within ${pingTimeoutMs / 1000} s` };
}

export function writeFailure(error: Error): DeliveryFailure {
  return { code: 'WSR_DELIVERY_WRITE', detail: `write failed: ${error.message}` };
}

export const STOPPED: DeliveryFailure = { code: 'WSR_DELIVERY_STOPPED', detail: 'the relay is shutting down' };
