// The date value added to JSON records, written byte for byte as Fluent Bit writes it
// (flb_pack.c: msgpack2json for the double, flb_pack_msgpack_to_json_format for the rest).
import type { DateFormat } from '../config/types.js';
import type { EventTime } from './types.js';

// One-entry caches: the records of a chunk mostly share their second (and often their exact
// time, when many lines arrive in one read), so a miss is rare and a hit costs two compares.
let isoSec = Number.NaN;
let isoPrefix = '';
let javaPrefix = '';
let doubleSec = Number.NaN;
let doubleNsec = Number.NaN;
let doubleText = '';

/** `YYYY-MM-DDTHH:MM:SS` (UTC) for a whole second, via Date only when the second changes. */
function isoSecondPrefix(sec: number): void {
  if (sec === isoSec) return;
  isoPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  javaPrefix = isoPrefix.slice(0, 10) + ' ' + isoPrefix.slice(11);
  isoSec = sec;
}

function micros6(nsec: number): string {
  const us = Math.floor(nsec / 1000);
  return us >= 100000 ? String(us) : String(us).padStart(6, '0');
}

/**
 * C's `%.16g` of a double as Fluent Bit prints it, with its `%.1f` special case for
 * integer-valued doubles. Exported so it can be checked against printf in bulk.
 */
export function formatDouble(d: number): string {
  if (Number.isInteger(d)) return d.toFixed(1);
  // %g switches to exponent form below 1e-4; toPrecision only below 1e-6.
  let text = Math.abs(d) < 1e-4 ? d.toExponential(15) : d.toPrecision(16);
  // toPrecision breaks an exact tie upwards; glibc's printf rounds it to even. A tie happens
  // when the value lies exactly halfway between two 16-digit decimals, e.g. sec + 1/128.
  if (d >= 1 && d < 1e16) {
    const whole = Math.floor(d);
    const frac = d - whole; // exact: no bits are lost subtracting the integer part
    const fracDigits = 16 - String(whole).length;
    // frac·10^p is a half-integer iff frac·2^(p+1) is an odd integer (5^p is odd); the
    // product by a power of two is exact in binary floating point.
    const scaled = frac * 2 ** (fracDigits + 1);
    if (Number.isInteger(scaled) && scaled % 2 === 1) {
      const last = text.charCodeAt(text.length - 1) - 48;
      // An odd last digit means the even neighbour is one unit below; odd digits never borrow.
      if (last % 2 === 1) text = text.slice(0, -1) + String(last - 1);
    }
  }
  if (text.indexOf('e') >= 0) return stripExponentForm(text);
  if (text.indexOf('.') < 0) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48) end--;
  if (text.charCodeAt(end - 1) === 46) end--;
  return text.slice(0, end);
}

/** %g strips trailing zeros of the mantissa in exponent form too; C writes at least 2 exponent digits. */
function stripExponentForm(text: string): string {
  const at = text.indexOf('e');
  let mantissa = text.slice(0, at);
  if (mantissa.indexOf('.') >= 0) mantissa = mantissa.replace(/0+$/, '').replace(/\.$/, '');
  const exp = text.slice(at + 1);
  const sign = exp[0] === '-' ? '-' : '+';
  const digits = exp.replace(/^[+-]/, '');
  return `${mantissa}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
}

/** The JSON text of the date value: a number literal or a quoted string. */
export function formatDate(time: EventTime, format: DateFormat): string {
  const { sec, nsec } = time;
  switch (format) {
    case 'double':
      if (sec !== doubleSec || nsec !== doubleNsec) {
        // Same arithmetic as flb_time_to_double, so the same double gets printed.
        doubleText = formatDouble(sec + nsec / 1e9);
        doubleSec = sec;
        doubleNsec = nsec;
      }
      return doubleText;
    case 'epoch':
      return String(sec);
    case 'epoch_ms':
      return String(sec * 1000 + Math.floor(nsec / 1e6));
    case 'iso8601':
      isoSecondPrefix(sec);
      return `"${isoPrefix}.${micros6(nsec)}Z"`;
    case 'java_sql_timestamp':
      isoSecondPrefix(sec);
      return `"${javaPrefix}.${micros6(nsec)}"`;
  }
}
