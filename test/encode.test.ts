// Byte-exact expectations, written out by hand (doubles checked against C's printf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Unpackr, addExtension } from 'msgpackr';
import type { DateFormat, GelfKeys, OutputFormat } from '../src/config/types.js';
import { createEncoder, formatDate } from '../src/encode/index.js';
import type { EncoderOptions, EventTime } from '../src/encode/types.js';
import type { TimedRecord } from '../src/chunk/record.js';

const NO_GELF: GelfKeys = {
  shortMessageKey: null,
  fullMessageKey: null,
  timestampKey: null,
  hostKey: null,
  levelKey: null,
};
const T: EventTime = { sec: 1795421327, nsec: 196247000 };
// 2018-05-30T09:39:52Z, the example in Fluent Bit's documentation.
const DOC: EventTime = { sec: 1527673192, nsec: 681000 };

function options(format: OutputFormat, more: Partial<EncoderOptions> = {}): EncoderOptions {
  return { format, dateKey: 'date', dateFormat: 'double', gelf: NO_GELF, hostname: 'relay1', ...more };
}
function text(format: OutputFormat, records: TimedRecord[], more: Partial<EncoderOptions> = {}): string {
  const encoder = createEncoder(options(format, more));
  assert.equal(encoder.binary, false);
  return encoder.encode(records).toString('utf8');
}
const at = (sec: number, nsec: number): EventTime => ({ sec, nsec });

test('double: %.16g with trailing zeros stripped, %.1f when integer-valued', () => {
  assert.equal(formatDate(T, 'double'), '1795421327.196247');
  assert.equal(formatDate(at(1795421327, 196240000), 'double'), '1795421327.19624');
  assert.equal(formatDate(at(1795421327, 100000), 'double'), '1795421327.0001');
  assert.equal(formatDate(at(1795421327, 0), 'double'), '1795421327.0');
  // These round to an integer-valued double, so Fluent Bit takes its %.1f branch.
  assert.equal(formatDate(at(1795421327, 999999999), 'double'), '1795421328.0');
  assert.equal(formatDate(at(1795421327, 1), 'double'), '1795421327.0');
  assert.equal(formatDate(at(1, 500000000), 'double'), '1.5');
  assert.equal(formatDate(at(0, 1), 'double'), '1e-09');
});

test('double: an exact tie rounds to even like glibc, not up like toPrecision', () => {
  // sec + 1/128 = 1795421327.0078125 exactly.
  assert.equal(formatDate(at(1795421327, 7812500), 'double'), '1795421327.007812');
  assert.equal(formatDate(at(1795421327, 23437500), 'double'), '1795421327.023438');
});

test('epoch, epoch_ms, iso8601, java_sql_timestamp', () => {
  assert.equal(formatDate(T, 'epoch'), '1795421327');
  assert.equal(formatDate(T, 'epoch_ms'), '1795421327196');
  assert.equal(formatDate(at(1795421327, 999999999), 'epoch_ms'), '1795421327999');
  assert.equal(formatDate(DOC, 'iso8601'), '"2018-05-30T09:39:52.000681Z"');
  assert.equal(formatDate(DOC, 'java_sql_timestamp'), '"2018-05-30 09:39:52.000681"');
  // Microseconds are truncated, never rounded up into the next second.
  assert.equal(formatDate(at(1527673192, 999999999), 'iso8601'), '"2018-05-30T09:39:52.999999Z"');
  assert.equal(formatDate(at(1527673192, 999999999), 'java_sql_timestamp'), '"2018-05-30 09:39:52.999999"');
  assert.equal(formatDate(at(1527673192, 0), 'iso8601'), '"2018-05-30T09:39:52.000000Z"');
  // The per-second prefix cache must follow the second back and forth.
  assert.equal(formatDate(T, 'iso8601'), '"2026-11-23T08:08:47.196247Z"');
  assert.equal(formatDate(at(1527673193, 5000), 'iso8601'), '"2018-05-30T09:39:53.000005Z"');
  assert.equal(formatDate(T, 'java_sql_timestamp'), '"2026-11-23 08:08:47.196247"');
});

const TWO: TimedRecord[] = [
  { time: T, body: { a: 1, b: 'x', n: { c: [1, true, null] } } },
  { time: at(1795421327, 0), body: {} },
];

test('json_lines and json_stream: date key first, one line per record', () => {
  const expected = '{"date":1795421327.196247,"a":1,"b":"x","n":{"c":[1,true,null]}}\n' + '{"date":1795421327.0}\n';
  assert.equal(text('json_lines', TWO), expected);
  assert.equal(text('json_stream', TWO), expected);
});

test('json: one array per chunk', () => {
  assert.equal(
    text('json', TWO),
    '[{"date":1795421327.196247,"a":1,"b":"x","n":{"c":[1,true,null]}},{"date":1795421327.0}]',
  );
  assert.equal(text('json', [TWO[1]]), '[{"date":1795421327.0}]');
});

test('every date format in json_lines and json', () => {
  const rec: TimedRecord[] = [{ time: DOC, body: { k: 'v' } }];
  const dates: Record<DateFormat, string> = {
    double: '1527673192.000681',
    epoch: '1527673192',
    epoch_ms: '1527673192000',
    iso8601: '"2018-05-30T09:39:52.000681Z"',
    java_sql_timestamp: '"2018-05-30 09:39:52.000681"',
  };
  for (const [dateFormat, value] of Object.entries(dates) as [DateFormat, string][]) {
    assert.equal(text('json_lines', rec, { dateFormat }), `{"date":${value},"k":"v"}\n`);
    assert.equal(text('json', rec, { dateFormat }), `[{"date":${value},"k":"v"}]`);
  }
});

test('a record that has the date key keeps its own, once', () => {
  const rec: TimedRecord[] = [{ time: T, body: { a: 1, date: 'mine' } }];
  assert.equal(text('json_lines', rec), '{"a":1,"date":"mine"}\n');
  assert.equal(text('json', rec), '[{"a":1,"date":"mine"}]');
});

test('dateKey null adds nothing; a custom key is escaped', () => {
  assert.equal(text('json_lines', TWO, { dateKey: null }), '{"a":1,"b":"x","n":{"c":[1,true,null]}}\n{}\n');
  assert.equal(text('json', [TWO[1]], { dateKey: null }), '[{}]');
  assert.equal(text('json_lines', [TWO[1]], { dateKey: '@t"s', dateFormat: 'epoch' }), '{"@t\\"s":1795421327}\n');
});

test('unicode and escaping survive as UTF-8', () => {
  const body = { msg: 'héllo "q" \\ \n\t\u0001 😀 日本', lone: '\ud800' };
  const out = createEncoder(options('json_lines', { dateKey: null })).encode([{ time: T, body }]);
  const expected = '{"msg":"héllo \\"q\\" \\\\ \\n\\t\\u0001 😀 日本","lone":"\\ud800"}\n';
  assert.equal(out.toString('utf8'), expected);
  // é is 2 bytes for 1 UTF-16 unit, 😀 4 for 2, 日 and 本 3 for 1 each.
  assert.equal(out.length, expected.length + 1 + 2 + 2 + 2);
  assert.deepEqual(out, Buffer.from(expected, 'utf8'));
});

test('an empty chunk is an empty buffer in every format', () => {
  for (const format of ['json', 'json_lines', 'json_stream', 'gelf', 'msgpack'] as const) {
    assert.equal(createEncoder(options(format)).encode([]).length, 0, format);
  }
});

// Fluentd's EventTime: sec and nsec as two uint32 BE. Unpack only, so packing is untouched.
addExtension({
  type: 0,
  unpack: (b: Buffer | Uint8Array) => {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { sec: view.getUint32(0), nsec: view.getUint32(4) };
  },
});

test('msgpack: exact bytes of [EventTime, record] pairs, binary frames', () => {
  const encoder = createEncoder(options('msgpack'));
  assert.equal(encoder.binary, true);
  const out = encoder.encode([
    { time: T, body: { a: 1 } },
    { time: at(1527673192, 0), body: {} },
  ]);
  assert.equal(
    out.toString('hex'),
    '92' + 'd700' + '6b03f48f' + '0bb27dd8' + '81' + 'a161' + '01' + '92' + 'd700' + '5b0e7168' + '00000000' + '80',
  );
});

test('msgpack: decodes back to the same times and records', () => {
  const records: TimedRecord[] = [
    {
      time: T,
      body: { s: 'héllo 😀', i: -5, f: 12.5, t: true, z: null, arr: [1, 'two', { x: [] }], o: { p: { q: 'r' } } },
    },
    { time: at(1527673192, 999999999), body: { big: 1795421327196, neg: -1795421327196, u32: 4294967295 } },
    { time: at(1795421327, 0), body: {} },
  ];
  const out = createEncoder(options('msgpack')).encode(records);
  const decoded = new Unpackr({ useRecords: false, int64AsType: 'number' }).unpackMultiple(out) as unknown[];
  assert.deepEqual(
    decoded,
    records.map((r) => [{ sec: r.time.sec, nsec: r.time.nsec }, r.body]),
  );
  // Integers past 32 bits stay integers (int64 d3), not msgpackr's default float64 (cb).
  assert.ok(out.includes(Buffer.from('d3000001a207734f5c', 'hex')));
  assert.ok(!out.includes(Buffer.from('cb427a', 'hex')));
});

function gelf(body: Record<string, unknown>, keys: Partial<GelfKeys> = {}, time: EventTime = T): string {
  return text('gelf', [{ time, body }], { gelf: { ...NO_GELF, ...keys } });
}

test('gelf: standard fields from the usual keys, the rest prefixed', () => {
  assert.equal(
    gelf({ log: 'hello', host: 'web1', pid: 42, ok: false }),
    '{"version":"1.1","host":"web1","short_message":"hello","timestamp":1795421327.196,"_pid":42,"_ok":false}\n',
  );
  // short_message wins over log, log over message; the others stay as fields.
  assert.equal(
    gelf({ message: 'm', log: 'l', short_message: 's' }, {}, at(5, 5000000)),
    '{"version":"1.1","host":"relay1","short_message":"s","timestamp":5.005,"_message":"m","_log":"l"}\n',
  );
  assert.equal(
    gelf({ message: 'm' }, {}, at(5, 0)),
    '{"version":"1.1","host":"relay1","short_message":"m","timestamp":5.000}\n',
  );
});

test('gelf: configured keys', () => {
  const keys: Partial<GelfKeys> = {
    shortMessageKey: 'msg',
    fullMessageKey: 'trace',
    hostKey: 'node',
    levelKey: 'severity',
    timestampKey: 'ts',
  };
  assert.equal(
    gelf({ msg: 'boom', trace: 'at x\nat y', node: 'n1', host: 'h', severity: '3', ts: 1700000000.5, log: 'l' }, keys),
    '{"version":"1.1","host":"n1","short_message":"boom","full_message":"at x\\nat y","timestamp":1700000000.5,"level":3,"_host":"h","_log":"l"}\n',
  );
  assert.equal(
    gelf({ msg: 'a', severity: 'WARNING' }, keys),
    '{"version":"1.1","host":"relay1","short_message":"a","timestamp":1795421327.196,"level":4}\n',
  );
  assert.equal(
    gelf({ msg: 'a', severity: 6 }, keys),
    '{"version":"1.1","host":"relay1","short_message":"a","timestamp":1795421327.196,"level":6}\n',
  );
  // Unusable values fall back: a non-numeric time to the record's, an unknown level to a field.
  assert.equal(
    gelf({ msg: 'a', severity: 'loud', ts: 'soon' }, keys),
    '{"version":"1.1","host":"relay1","short_message":"a","timestamp":1795421327.196,"_severity":"loud","_ts":"soon"}\n',
  );
  // A configured key that is absent falls back to the usual ones.
  assert.equal(
    gelf({ log: 'l' }, keys),
    '{"version":"1.1","host":"relay1","short_message":"l","timestamp":1795421327.196}\n',
  );
});

test('gelf: flattening, arrays as text, nulls dropped, id, names cleaned', () => {
  assert.equal(
    gelf({ log: 'x', a: { b: 1, c: { d: 'e' }, n: null }, arr: [1, 'two'], t: true, z: null, id: 7, 'a b': 2 }),
    '{"version":"1.1","host":"relay1","short_message":"x","timestamp":1795421327.196,' +
      '"_a_b":1,"_a_c_d":"e","_arr":"[1,\\"two\\"]","_t":true,"__id":7}\n',
  );
  // Above, "a b" cleaned to "_a_b" repeated the flattened name and the first stayed; so here.
  assert.equal(
    gelf({ log: 'x', id: 1, _id: 2, 'x/y': 3 }),
    '{"version":"1.1","host":"relay1","short_message":"x","timestamp":1795421327.196,"__id":1,"_x_y":3}\n',
  );
});

test('gelf: without any message key the record itself is the short_message', () => {
  assert.equal(
    gelf({ x: 1, s: 'q"' }),
    '{"version":"1.1","host":"relay1","short_message":"{\\"x\\":1,\\"s\\":\\"q\\\\\\"\\"}","timestamp":1795421327.196,"_x":1,"_s":"q\\""}\n',
  );
  assert.equal(gelf({}), '{"version":"1.1","host":"relay1","short_message":"{}","timestamp":1795421327.196}\n');
  // An empty message does not count as one.
  assert.equal(
    gelf({ log: '' }),
    '{"version":"1.1","host":"relay1","short_message":"{\\"log\\":\\"\\"}","timestamp":1795421327.196,"_log":""}\n',
  );
});

test('gelf: one message per chunk, a line per record', () => {
  const out = text('gelf', [
    { time: at(1, 0), body: { log: 'a' } },
    { time: at(2, 1999999), body: { log: 'b' } },
  ]);
  assert.equal(
    out,
    '{"version":"1.1","host":"relay1","short_message":"a","timestamp":1.000}\n' +
      '{"version":"1.1","host":"relay1","short_message":"b","timestamp":2.001}\n',
  );
});

test("gelf: unset keys take Fluent Bit's defaults (short_message, full_message, timestamp, host, level)", () => {
  // Each GELF field from the record key of its own name, as Fluent Bit's gelf encoder does.
  assert.equal(
    gelf({
      short_message: 'disk full',
      full_message: 'at write()\nat flush()',
      level: 'err',
      timestamp: 1565770310.5,
      host: 'web-1',
      user: 'ann',
    }),
    '{"version":"1.1","host":"web-1","short_message":"disk full","full_message":"at write()\\nat flush()",' +
      '"timestamp":1565770310.5,"level":3,"_user":"ann"}\n',
  );
  // Fluent Bit turns "0".."7" and the syslog keywords into numbers; a number stays as it is.
  assert.equal(
    gelf({ short_message: 'a', level: '6' }, {}, at(5, 0)),
    '{"version":"1.1","host":"relay1","short_message":"a","timestamp":5.000,"level":6}\n',
  );
  assert.equal(
    gelf({ short_message: 'a', level: 2 }, {}, at(5, 0)),
    '{"version":"1.1","host":"relay1","short_message":"a","timestamp":5.000,"level":2}\n',
  );
  // A configured key replaces its default: the default's key is then an ordinary field.
  assert.equal(
    gelf(
      { short_message: 'a', level: 2, severity: 'debug', timestamp: 9 },
      { levelKey: 'severity', timestampKey: 'ts' },
      at(5, 0),
    ),
    '{"version":"1.1","host":"relay1","short_message":"a","timestamp":5.000,"level":7,"_level":2,"_timestamp":9}\n',
  );
});

test("gelf: the examples of Fluent Bit's gelf output documentation", () => {
  // The Kubernetes example: the docker parser (Time_Keep Off) and the nest filter leave
  // {"data": ..., "stream": ...}; the kubernetes filter adds host; Gelf_Short_Message_Key data.
  // The docs show what Graylog receives:
  //   {"version":"1.1", "short_message":"This is an example.", "host": "<Your Node Name>",
  //    "_stream":"stderr", "timestamp":1565770310.000199}
  // (Fluent Bit 1.2's float; today's prints "%li.%03lu", three decimals, as here).
  const time = at(1565770310, 198491);
  const out = gelf(
    { data: 'This is an example.', stream: 'stderr', host: 'node-7' },
    { shortMessageKey: 'data' },
    time,
  );
  assert.equal(
    out,
    '{"version":"1.1","host":"node-7","short_message":"This is an example.","timestamp":1565770310.000,"_stream":"stderr"}\n',
  );
  assert.deepEqual(JSON.parse(out), {
    version: '1.1',
    short_message: 'This is an example.',
    host: 'node-7',
    _stream: 'stderr',
    timestamp: 1565770310,
  });
  // The Docker note: Gelf_Short_Message_Key log sends the unparsed line as the message.
  const docker = { log: '{"data": "This is an example."}', stream: 'stderr', time: '2019-07-21T12:45:11.273315023Z' };
  assert.equal(
    gelf(docker, { shortMessageKey: 'log' }, time),
    '{"version":"1.1","host":"relay1","short_message":"{\\"data\\": \\"This is an example.\\"}",' +
      '"timestamp":1565770310.000,"_stream":"stderr","_time":"2019-07-21T12:45:11.273315023Z"}\n',
  );
  // "The order of looking up the timestamp": the record's `timestamp` key, else the record's time.
  assert.equal(
    gelf({ short_message: 'x', timestamp: 1563713111.273 }, {}, time),
    '{"version":"1.1","host":"relay1","short_message":"x","timestamp":1563713111.273}\n',
  );
});
