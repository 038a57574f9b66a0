import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_DEPTH, ScanVerdict, scanJsonObject, type ScanResult } from '../src/codec/json-scan.js';

type Name = 'invalid' | 'canonical' | 'valid';
const NAMES: Record<ScanVerdict, Name> = {
  [ScanVerdict.Invalid]: 'invalid',
  [ScanVerdict.Canonical]: 'canonical',
  [ScanVerdict.Valid]: 'valid',
};
const out: ScanResult = { verdict: ScanVerdict.Invalid, hasKey: false };

// Bytes right after `end` that would complete a truncated line if the scan ever read them.
const TRAILERS = ['', '}', '"}', '0}', ']}', '1"}', 'e1}', 'ue}', '\x80\x80\x80"}', '0000"}'].map((t) =>
  Buffer.from(t),
);

/** Scans the bytes placed inside a larger buffer, with every trailer: all must agree. */
function scan(input: string | Uint8Array, key: string | Uint8Array | null = null): { verdict: Name; hasKey: boolean } {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const keyBytes = typeof key === 'string' ? Buffer.from(key) : key;
  let first: { verdict: Name; hasKey: boolean } | null = null;
  for (const trailer of TRAILERS) {
    const buffer = Buffer.concat([Buffer.from('{"x":'), bytes, trailer]);
    scanJsonObject(buffer, 5, 5 + bytes.length, keyBytes, out);
    const got = { verdict: NAMES[out.verdict], hasKey: out.hasKey };
    if (first === null) first = got;
    else assert.deepEqual(got, first, `trailer ${JSON.stringify(trailer.toString('latin1'))} changed the result`);
  }
  return first!;
}
const verdict = (input: string | Uint8Array): Name => scan(input).verdict;
const roundTrips = (text: string): boolean => JSON.stringify(JSON.parse(text)) === text;
const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

test('not one JSON object: invalid', () => {
  const cases = [
    '',
    ' ',
    'x',
    '[]',
    '"a"',
    '1',
    'null',
    'true',
    '{',
    '}',
    '{"a"',
    '{"a":',
    '{"a":1',
    '{"a":1,',
    '{"a":1,}',
    '{,}',
    '{"a" 1}',
    '{"a":1 "b":2}',
    '{1:2}',
    "{'a':1}",
    '{a:1}',
    '{"a":1}}',
    '{"a":1}x',
    '{"a":1} {"b":2}',
    '{}{}',
    '{"a":[1,]}',
    '{"a":[,1]}',
    '{"a":[1 2]}',
    '{"a":]}',
    '{"a":[}',
    '{"a":{]}',
    '{"a":[1}',
    '{"a":{"b":1]}',
    '{"a"::1}',
    '{"a":1,,"b":2}',
    '{"a",1}',
    '{:1}',
    '{"a":}',
    '{"a":{"b"}}',
    '[{}]',
    '{}]',
    '{"a":1}\x00',
  ];
  for (const text of cases) {
    assert.equal(verdict(text), 'invalid', text);
    assert.throws(() => {
      const v: unknown = JSON.parse(text);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error();
    }, text);
  }
});

test('numbers: exactly the JSON grammar', () => {
  for (const n of [
    '01',
    '00',
    '-01',
    '-',
    '-a',
    '+1',
    '1.',
    '.5',
    '1.e5',
    '1e',
    '1e+',
    '1E-',
    '0x10',
    'NaN',
    'Infinity',
    '-Infinity',
    '1_000',
    '1..2',
    '1ee2',
    '1e2.5',
    '--1',
    '- 1',
    '1 2',
    '0.-1',
    '2.e',
  ]) {
    assert.equal(verdict(`{"a":${n}}`), 'invalid', n);
    assert.throws(() => JSON.parse(`{"a":${n}}`), n);
  }
  for (const n of ['0', '-1', '9', '10', '1234567890', '-9007199254740991'])
    assert.equal(verdict(`{"a":${n}}`), 'canonical', n);
  // Fractions JavaScript prints as written are canonical; other number forms are valid.
  for (const n of ['1.5', '0.1', '-0.5', '2.25']) assert.equal(verdict(`{"a":${n}}`), 'canonical', n);
  for (const n of ['1.0', '1e3', '1E3', '1e+3', '1e-3', '1.5E-7', '-0', '-0.0', '-0e0', '0e0', '100e0', '0.10']) {
    assert.equal(verdict(`{"a":${n}}`), 'valid', n);
  }
});

test('literals: true, false, null only', () => {
  for (const v of ['true', 'false', 'null']) assert.equal(verdict(`{"a":${v},"b":[${v}]}`), 'canonical', v);
  for (const v of ['tru', 'True', 'nul', 'nulll', 'falsey', 'fals', 'undefined', 't', 'n', 'f', 'truefalse', 'NULL']) {
    assert.equal(verdict(`{"a":${v}}`), 'invalid', v);
  }
});

test('strings: escapes, raw control characters, unterminated', () => {
  for (const s of [
    '"a',
    '"\\',
    '"\\"',
    '"\\x"',
    '"\\u12"',
    '"\\u12g4"',
    '"\\U0041"',
    '"\\a"',
    '"\\\'"',
    '"\\u 123"',
    '"a\x00"',
    '"a\x1f"',
    '"a\tb"',
    '"a\nb"',
    '"a\rb"',
  ]) {
    assert.equal(verdict(`{"a":${s}}`), 'invalid', s);
    assert.equal(verdict(`{${s}:1}`), 'invalid', `key ${s}`);
    assert.throws(() => JSON.parse(`{"a":${s}}`), s);
  }
});

test('whitespace: the four JSON ones anywhere between tokens, nothing else', () => {
  for (const text of [
    ' {}',
    '{} ',
    '{ }',
    '\t{"a" :1}\r\n',
    '{"a": 1}',
    '{"a":1 }',
    '{"a":[1, 2 ]}',
    '{\n"a":1}',
    '{"a":[ ]}',
  ]) {
    assert.equal(verdict(text), 'valid', text);
  }
  for (const text of ['\f{}', '{\v}', '{}\u00a0', '\ufeff{}', '{"a":1\u2028}', '{"a":\u30001}']) {
    assert.equal(verdict(text), 'invalid', text);
    assert.throws(() => JSON.parse(text), text);
  }
});

test('UTF-8: well-formed sequences pass, every malformed kind is invalid', () => {
  const good: number[][] = [
    [0xc2, 0x80],
    [0xdf, 0xbf],
    [0xe0, 0xa0, 0x80],
    [0xed, 0x9f, 0xbf],
    [0xee, 0x80, 0x80],
    [0xef, 0xbf, 0xbf],
    [0xf0, 0x90, 0x80, 0x80],
    [0xf4, 0x8f, 0xbf, 0xbf],
    [0xe2, 0x80, 0xa8],
  ];
  for (const seq of good) assert.equal(verdict(bytes('{"a":"', seq, '"}')), 'canonical', seq.toString());
  const bad: Array<[string, number[]]> = [
    ['lone continuation', [0x80]],
    ['lone continuation BF', [0xbf]],
    ['overlong NUL', [0xc0, 0x80]],
    ['overlong C1', [0xc1, 0xbf]],
    ['overlong 3-byte', [0xe0, 0x80, 0x80]],
    ['overlong 3-byte top', [0xe0, 0x9f, 0xbf]],
    ['surrogate D800', [0xed, 0xa0, 0x80]],
    ['surrogate DFFF', [0xed, 0xbf, 0xbf]],
    ['overlong 4-byte', [0xf0, 0x8f, 0xbf, 0xbf]],
    ['past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['F5 lead', [0xf5, 0x80, 0x80, 0x80]],
    ['FF', [0xff]],
    ['FE', [0xfe]],
    ['truncated 2-byte', [0xc3]],
    ['truncated 3-byte', [0xe2, 0x82]],
    ['truncated 4-byte', [0xf0, 0x9f, 0x98]],
    ['2-byte then ASCII', [0xc3, 0x41]],
    ['3-byte, bad third', [0xe2, 0x82, 0x41]],
    ['4-byte, bad fourth', [0xf0, 0x9f, 0x98, 0x41]],
    ['5-byte lead', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ];
  const strict = new TextDecoder('utf-8', { fatal: true });
  for (const [name, seq] of bad) {
    assert.throws(() => strict.decode(Uint8Array.from(seq)), name);
    assert.equal(verdict(bytes('{"a":"', seq, '"}')), 'invalid', `${name} in a value`);
    assert.equal(verdict(bytes('{"', seq, '":1}')), 'invalid', `${name} in a key`);
    assert.equal(verdict(bytes('{"a":"x"}', seq)), 'invalid', `${name} after the object`);
  }
  // At the very end of the range: a truncated sequence must not be completed by what follows.
  assert.equal(verdict(bytes('{"a":"', [0xe2, 0x82])), 'invalid');
  assert.equal(verdict(bytes('{"', [0xc3, 0xa9], '":"', [0xf0, 0x9f, 0x98, 0x80], '"}')), 'canonical');
});

test('nesting: 512 levels pass, 513 are invalid', () => {
  const nest = (levels: number, open: string, close: string): string =>
    `{"a":${open.repeat(levels - 2)}{}${close.repeat(levels - 2)}}`;
  assert.equal(MAX_DEPTH, 512);
  assert.equal(verdict(nest(512, '[', ']')), 'canonical');
  assert.equal(verdict(nest(513, '[', ']')), 'invalid');
  assert.equal(verdict(nest(512, '{"b":', '}')), 'canonical');
  assert.equal(verdict(nest(513, '{"b":', '}')), 'invalid');
  assert.equal(verdict(`{"a":${'['.repeat(100000)}`), 'invalid'); // bounded, no recursion
  const text = nest(513, '[', ']');
  assert.equal(typeof JSON.parse(text), 'object'); // a limit of ours, not of JSON
  // Depth comes back down: many shallow containers in a row are fine.
  assert.equal(verdict(`{"a":[${'[[]],'.repeat(600)}1]}`), 'canonical');
});

test('canonical: exactly what JSON.stringify writes', () => {
  const cases = [
    '{}',
    '{"a":1}',
    '{"a":-1}',
    '{"a":0}',
    '{"a":true,"b":false,"c":null}',
    '{"a":[]}',
    '{"a":{}}',
    '{"a":[1,"x",{"b":[null]}]}',
    '{"a":"\\"\\\\\\b\\f\\n\\r\\t"}',
    '{"a":"\\u0000\\u0001\\u000b\\u000e\\u001f\\u001a"}',
    '{"é€😀":"é€😀"}',
    '{"a":"\x7f"}',
    '{"a":"\u2028\u2029"}',
    '{"a":"\\ud800"}',
    '{"a":"\\udfff"}',
    '{"a":"\\udc00\\ud800"}',
    '{"a":"\\ud800x\\udc00"}',
    '{"a":"\\ud800\\ud800"}',
    '{"a":"\\ud83d😀"}',
    '{"a":"/<>\'&"}',
    '{"\\n":"\\u0000"}',
    '{"":""}',
    '{"seq":123,"t":1795421327196,"level":"info","msg":"GET /api/v1/items 200","host":"web-01"}',
  ];
  for (const text of cases) {
    assert.equal(verdict(text), 'canonical', text);
    assert.ok(roundTrips(text), `stringify agrees: ${text}`);
  }
});

test('canonical on purpose though stringify differs: duplicate keys, integer-like keys, long integers', () => {
  for (const text of [
    '{"a":1,"a":2}',
    '{"b":1,"1":2}',
    '{"a":12345678901234567890}',
    '{"a":-12345678901234567890}',
    '{"a":9007199254740993}',
    '{"a":1000000000000000000000}',
    `{"a":${'9'.repeat(400)}}`,
  ]) {
    assert.equal(verdict(text), 'canonical', text);
    assert.ok(!roundTrips(text), `stringify differs: ${text}`);
  }
  // 16 to 21 digits that survive the round trip are canonical either way.
  assert.equal(verdict('{"a":1152921504606847000}'), 'canonical');
  assert.ok(roundTrips('{"a":1152921504606847000}'));
});

test('valid, not canonical: every form stringify rewrites', () => {
  const cases = [
    ' {}',
    '{"a":1} ',
    '{"a": 1}',
    '{"a":1.0}',
    '{"a":1e3}',
    '{"a":-0}',
    '{"a":"\\/"}',
    '{"a":"\\u0041"}',
    '{"\\u0061":1}',
    '{"a":"\\u001F"}',
    '{"a":"\\u000a"}',
    '{"a":"\\u0008"}',
    '{"a":"\\u0009"}',
    '{"a":"\\u000c"}',
    '{"a":"\\u000d"}',
    '{"a":"\\u0022"}',
    '{"a":"\\u005c"}',
    '{"a":"\\u007f"}',
    '{"a":"\\u00e9"}',
    '{"a":"\\u2028"}',
    '{"a":"\\ud83d\\ude00"}',
    '{"a":"\\uD800"}',
    '{"a":"\\udC00"}',
    '{"a":"\\u000A"}',
    '{"a":["x",{"b":"\\/"}]}',
    '{"a":"\\ud800\\uDC00"}',
  ];
  for (const text of cases) {
    assert.equal(verdict(text), 'valid', text);
    assert.ok(!roundTrips(text), `stringify differs: ${text}`);
  }
  // Conservative: an exponent, or a fraction of more than 15 significant digits, is never
  // canonical, even when it would round-trip.
  for (const text of ['{"a":1e+21}', '{"a":5e-324}', '{"a":0.30000000000000004}']) {
    assert.equal(verdict(text), 'valid', text);
    assert.ok(roundTrips(text), text);
  }
  // A fraction of at most 15 significant digits without a trailing zero is printed as written.
  for (const text of [
    '{"a":1.5}',
    '{"t":1795421327196.25}',
    '{"a":-0.5}',
    '{"a":0.000001}',
    '{"a":123456789012.125}',
  ]) {
    assert.equal(verdict(text), 'canonical', text);
    assert.ok(roundTrips(text), text);
  }
  for (const text of ['{"a":1.50}', '{"a":0.0000001}', '{"a":0.0}', '{"a":-0.0}']) {
    assert.equal(verdict(text), 'valid', text);
    assert.ok(!roundTrips(text), text);
  }
});

test('hasKey: top-level keys only, escapes decoded', () => {
  const has = (text: string, key: string | Uint8Array | null): boolean => {
    const got = scan(text, key);
    assert.notEqual(got.verdict, 'invalid', text);
    return got.hasKey;
  };
  assert.equal(has('{"date":1}', 'date'), true);
  assert.equal(has('{"a":1,"date":{"x":[1]}}', 'date'), true);
  assert.equal(has('{"a":{"date":1}}', 'date'), false);
  assert.equal(has('{"a":[{"date":1}],"b":{"c":{"date":2}}}', 'date'), false);
  assert.equal(has('{"a":"date","date2":1,"dat":2,"Date":3}', 'date'), false);
  assert.equal(has('{"d\\u0061te":1}', 'date'), true);
  assert.equal(has('{"\\u0064\\u0061\\u0074\\u0065":1}', 'date'), true);
  assert.equal(has('{"a":{"d\\u0061te":1}}', 'date'), false);
  assert.equal(has('{"d\\u0061tes":1}', 'date'), false);
  assert.equal(has('{"d\\u0061t":1}', 'date'), false);
  assert.equal(has('{"da\\"te":1}', 'da"te'), true);
  assert.equal(has('{"k\\/":1}', 'k/'), true);
  assert.equal(has('{"\\\\\\b\\f\\n\\r\\t":1}', '\\\b\f\n\r\t'), true);
  assert.equal(has('{"é":1}', 'é'), true);
  assert.equal(has('{"\\u00e9":1}', 'é'), true);
  assert.equal(has('{"\\u20AC":1}', '€'), true);
  assert.equal(has('{"\\ud83d\\ude00":1}', '😀'), true);
  assert.equal(has('{"\\ud83d😀":1}', '\ud83d😀'), false); // a lone surrogate never matches UTF-8 bytes
  assert.equal(has('{"\\ud800":1}', Buffer.from([0xed, 0xa0, 0x80])), true); // it decodes to WTF-8
  assert.equal(has('{"":1}', ''), true);
  assert.equal(has('{"a":1}', ''), false);
  assert.equal(has('{"date":1}', null), false);
  assert.equal(has(' { "date" : 1 } ', 'date'), true);
  assert.equal(scan('{"date":1', 'date').hasKey, false); // invalid: never true
  assert.equal(scan('{"date":1}x', 'date').hasKey, false);
});

test('the range is respected and the result object reused', () => {
  const buffer = Buffer.from('xx{"a":1}{"b":2.0}yy');
  const result: ScanResult = { verdict: ScanVerdict.Invalid, hasKey: true };
  assert.equal(scanJsonObject(buffer, 2, 9, null, result), result);
  assert.equal(result.verdict, ScanVerdict.Canonical);
  assert.equal(result.hasKey, false);
  assert.equal(scanJsonObject(buffer, 9, 18, Buffer.from('b'), result).verdict, ScanVerdict.Valid);
  assert.equal(result.hasKey, true);
  assert.equal(scanJsonObject(buffer, 2, 18, null, result).verdict, ScanVerdict.Invalid);
  assert.equal(scanJsonObject(buffer, 2, 8, null, result).verdict, ScanVerdict.Invalid);
  assert.equal(scanJsonObject(buffer, 5, 5, null, result).verdict, ScanVerdict.Invalid);
  assert.equal(scanJsonObject(buffer, 2, 100, null, result).verdict, ScanVerdict.Invalid); // end past the bytes
});

// ---------------------------------------------------------------------------------------------
// Properties

const RUNS = 3000;
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keep a BOM: JSON.parse refuses it

/** What JSON.parse says about the bytes: is it one object? */
function parsesToObject(input: Uint8Array): boolean {
  try {
    const value: unknown = JSON.parse(strict.decode(input));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

function scanBytes(input: Uint8Array, key: Uint8Array | null = null): ScanResult {
  return scanJsonObject(input, 0, input.length, key, { verdict: ScanVerdict.Invalid, hasKey: false });
}

// Characters that matter to the scan, and to stringify.
const interestingChar = fc.constantFrom(
  '"',
  '\\',
  '/',
  '\u0000',
  '\u0008',
  '\u001f',
  '\u007f',
  '\u0080',
  'é',
  '\u2028',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '😀',
  '\ufeff',
  '\uffff',
  'a',
  ' ',
  '\t',
  '\n',
);
const unit = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), interestingChar);

/** What the scanner leaves to the slow path on purpose: exponents and long fractions. */
function slowNumber(printed: string): boolean {
  if (/e/.test(printed)) return true;
  const dot = printed.indexOf('.');
  if (dot < 0) return false;
  return printed.replace('-', '').replace('.', '').replace(/^0+/, '').length > 15;
}

test('property: stringify output of any JSON value is canonical unless it has an exponent or a long fraction', () => {
  const values = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: 'binary' }), fc.jsonValue({ stringUnit: unit }));
  fc.assert(
    fc.property(values, (value) => {
      const text = JSON.stringify({ v: value, [typeof value === 'string' ? value : 'k']: value });
      let floating = false; // JSON.stringify wrote a number with a fraction or an exponent
      JSON.parse(text, (_key, v: unknown) => {
        if (typeof v === 'number' && slowNumber(String(v))) floating = true;
        return v;
      });
      const result = scanBytes(Buffer.from(text));
      assert.notEqual(result.verdict, ScanVerdict.Invalid);
      assert.equal(result.verdict === ScanVerdict.Canonical, roundTrips(text) && !floating);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.json(), (json) => {
      assert.notEqual(scanBytes(Buffer.from(`{"v":${json}}`)).verdict, ScanVerdict.Invalid);
    }),
    { numRuns: 1000 },
  );
});

// JSON text written with the liberties the grammar allows (whitespace, other escapes, other
// number forms), each taken with the given odds in percent: at 0 the text is what stringify
// writes. Every piece carries its text and its value. No duplicate or integer-like keys and only
// safe integers, so Canonical must mean exactly stringify(parse(text)) === text.
interface Piece {
  text: string;
  value: unknown;
}
const hex = (code: number, upper: boolean): string => {
  const h = code.toString(16).padStart(4, '0');
  return `\\u${upper ? h.toUpperCase() : h}`;
};
function jsonText(odds: number): fc.Arbitrary<string> {
  const liberty = fc.integer({ min: 0, max: 99 }).map((n) => n < odds);
  const ws = fc.tuple(liberty, fc.constantFrom(' ', '\n', '\t', '\r', '  ', ' \n ')).map(([yes, w]) => (yes ? w : ''));
  const charPiece = fc.tuple(unit, liberty, fc.nat(2)).map(([ch, yes, how]): Piece => {
    let text = JSON.stringify(ch).slice(1, -1);
    if (yes && how === 2 && ch === '/') text = '\\/';
    else if (yes) text = Array.from({ length: ch.length }, (_, k) => hex(ch.charCodeAt(k), how === 1)).join('');
    return { text, value: ch };
  });
  const stringPiece = fc.array(charPiece, { maxLength: 8 }).map((chars): Piece => ({
    text: `"${chars.map((c) => c.text).join('')}"`,
    value: chars.map((c) => c.value).join(''),
  }));
  const integer = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger());
  const numberPiece = fc.tuple(integer, liberty, fc.nat(5)).map(([n, yes, how]): Piece => {
    const forms = [
      `${n}.0`,
      `${n}e0`,
      `${n}E+0`,
      `${n}.00e-0`,
      n === 0 ? '-0' : `${n}e-0`,
      n === 0 ? '-0.0' : `${n}.0e1`,
    ];
    return { text: yes ? forms[how]! : String(n), value: n };
  });
  const literalPiece = fc.constantFrom<Piece>(
    { text: 'true', value: true },
    { text: 'false', value: false },
    { text: 'null', value: null },
  );
  const join = (open: string, items: string[], close: string, w: string[]): string =>
    open + w[0] + items.join(`${w[1]},${w[2]}`) + w[3] + close;
  const wsFour = fc.array(ws, { minLength: 4, maxLength: 4 });
  const { object } = fc.letrec<{ value: Piece; object: Piece; array: Piece }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      stringPiece,
      numberPiece,
      literalPiece,
      tie('array'),
      tie('object'),
    ),
    array: fc.tuple(fc.array(fc.tuple(tie('value'), ws, ws), { maxLength: 4 }), wsFour).map(([items, w]): Piece => ({
      text: join(
        '[',
        items.map(([v, x, y]) => x + v.text + y),
        ']',
        w,
      ),
      value: items.map(([v]) => v.value),
    })),
    object: fc
      .tuple(
        fc.uniqueArray(
          fc.tuple(
            stringPiece.filter((k) => !/^\d+$/.test(k.value as string)),
            tie('value'),
            ws,
            ws,
          ),
          { maxLength: 4, selector: ([k]) => k.value as string },
        ),
        wsFour,
      )
      .map(([entries, w]): Piece => ({
        text: join(
          '{',
          entries.map(([k, v, x, y]) => `${x}${k.text}${y}:${x}${v.text}${y}`),
          '}',
          w,
        ),
        value: Object.fromEntries(entries.map(([k, v]) => [k.value, v.value])),
      })),
  }));
  return fc.tuple(ws, object, ws).map(([x, o, y]) => x + o.text + y);
}
const liberalText = fc.oneof(jsonText(0), jsonText(1), jsonText(5), jsonText(30));

test('property: on freely written JSON, Canonical iff stringify(parse(text)) === text', () => {
  fc.assert(
    fc.property(liberalText, (text) => {
      const result = scanBytes(Buffer.from(text));
      assert.notEqual(result.verdict, ScanVerdict.Invalid);
      assert.equal(result.verdict === ScanVerdict.Canonical, roundTrips(text));
    }),
    { numRuns: RUNS },
  );
});

test('property: hasKey is Object.hasOwn on the top-level object', () => {
  const keysOf = (value: unknown, into: string[]): string[] => {
    if (typeof value === 'object' && value !== null) {
      if (!Array.isArray(value)) into.push(...Object.keys(value));
      for (const v of Object.values(value)) keysOf(v, into);
    }
    return into;
  };
  fc.assert(
    fc.property(liberalText, fc.nat(), fc.string({ maxLength: 3 }), (text, pick, other) => {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const keys = keysOf(parsed, [other]).filter((k) => Buffer.from(k).toString() === k); // well-formed only
      const key = keys[pick % keys.length]!;
      assert.equal(scanBytes(Buffer.from(text), Buffer.from(key)).hasKey, Object.hasOwn(parsed, key), key);
    }),
    { numRuns: RUNS },
  );
});

// Bytes that are JSON-ish, so that random texts are sometimes valid and often nearly so.
const jsonishByte = fc.oneof(
  fc.constantFrom(...Buffer.from('{}[]":,\\/ \t\n\r0123456789-+.eEtruefalsnbu"""{{}}::')),
  fc.constantFrom(
    0x00,
    0x1f,
    0x7f,
    0x80,
    0xbf,
    0xc0,
    0xc2,
    0xc3,
    0xa9,
    0xe0,
    0xa0,
    0xed,
    0xef,
    0xf0,
    0x90,
    0xf4,
    0x8f,
    0xf5,
    0xff,
  ),
  fc.integer({ min: 0, max: 255 }),
);
const mutation = fc.tuple(
  fc.constantFrom('flip', 'set', 'insert', 'delete'),
  fc.nat(),
  jsonishByte,
  fc.integer({ min: 0, max: 7 }),
);
function mutate(input: Uint8Array, edits: Array<[string, number, number, number]>): Uint8Array {
  const b = [...input];
  for (const [kind, at, byte, bit] of edits) {
    const i = b.length === 0 ? 0 : at % (kind === 'insert' ? b.length + 1 : b.length);
    if (kind === 'insert') b.splice(i, 0, byte);
    else if (b.length === 0) continue;
    else if (kind === 'delete') b.splice(i, 1);
    else if (kind === 'flip') b[i] = b[i]! ^ (1 << bit);
    else b[i] = byte;
  }
  return Uint8Array.from(b);
}
const anyInput = fc.oneof(
  liberalText.map((t) => Buffer.from(t)),
  fc
    .string({ unit: fc.oneof(interestingChar, fc.constantFrom(...'{}[]":,1-0.eEtrufalsn '.split(''))), maxLength: 30 })
    .map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 40 }),
  fc.array(jsonishByte, { maxLength: 40 }).map((a) => Uint8Array.from(a)),
  fc.tuple(liberalText, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([t, m]) => mutate(Buffer.from(t), m)),
  fc
    .tuple(fc.json(), fc.array(mutation, { minLength: 1, maxLength: 2 }))
    .map(([t, m]) => mutate(Buffer.from(`{"v":${t}}`), m)),
);

test('property: Invalid exactly when strict UTF-8 decoding or JSON.parse refuses it, or it is no object', () => {
  fc.assert(
    fc.property(anyInput, (input) => {
      const result = scanBytes(input);
      assert.equal(result.verdict === ScanVerdict.Invalid, !parsesToObject(input));
    }),
    { numRuns: 5000 },
  );
});

test('property: never throws and never reads outside [start, end)', () => {
  fc.assert(
    fc.property(anyInput, anyInput, fc.nat(), fc.nat(), fc.option(anyInput), (a, b, s, e, key) => {
      const buffer = Buffer.concat([a, b]);
      const start = s % (buffer.length + 1);
      const end = start + (e % (buffer.length - start + 1));
      const inPlace = scanJsonObject(buffer, start, end, key, { verdict: ScanVerdict.Invalid, hasKey: false });
      const alone = scanBytes(Buffer.from(buffer.subarray(start, end)), key);
      assert.deepEqual(inPlace, alone);
    }),
    { numRuns: RUNS },
  );
});
