// Per-client filters from the query string, as fluent-plugin-websocket documents them: every
// query parameter other than the reserved ones must equal the record's top-level field of
// that name. Unlike the plugin (which compared the JSON text, so `?user=6` never matched the
// number 6, and which looked at the wrong array element once add_time was on or add_tag off),
// values compare by the field's type and always against the record itself:
//   string field  → equal text;   number field → the parameter read as a number (6, 6.0, 6e0);
//   boolean field → `true`/`false`; null → `null`; objects, arrays, missing → never equal.
// A parameter given twice (`?level=warn&level=error`) matches either value.
import type { RecordBody } from '../../chunk/record.js';

/** Query parameters that are not filters. */
export const RESERVED_PARAMS: ReadonlySet<string> = new Set(['token', 'last_id']);

// A JSON-style number only: Number() also takes '', ' ', '0x1f', 'Infinity', which no one
// filtering a log field means.
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

interface Wanted {
  readonly text: string;
  /** The text as a number, or NaN when it is not one. */
  readonly number: number;
}

function equals(value: unknown, wanted: Wanted): boolean {
  switch (typeof value) {
    case 'string':
      return value === wanted.text;
    case 'number':
      return value === wanted.number;
    case 'bigint':
      return Number.isInteger(wanted.number) && value === BigInt(wanted.number);
    case 'boolean':
      return wanted.text === (value ? 'true' : 'false');
    case 'object':
      return value === null && wanted.text === 'null';
    default:
      return false;
  }
}

export class RecordFilter {
  private readonly fields: ReadonlyArray<readonly [string, readonly Wanted[]]>;

  /** The same conditions give the same key: clients sharing it share one encoded batch. */
  readonly key: string;

  constructor(conditions: ReadonlyMap<string, readonly string[]>) {
    const fields = [...conditions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.fields = fields.map(
      ([name, texts]) =>
        [
          name,
          texts.map((text) => ({
            text,
            number: NUMBER.test(text) ? Number(text) : Number.NaN,
          })),
        ] as const,
    );
    this.key = JSON.stringify(fields.map(([name, texts]) => [name, [...texts].sort()]));
  }

  matches(body: RecordBody): boolean {
    for (const [name, wanted] of this.fields) {
      if (!Object.hasOwn(body, name)) return false;
      const value = body[name];
      let any = false;
      for (const w of wanted) {
        if (equals(value, w)) {
          any = true;
          break;
        }
      }
      if (!any) return false;
    }
    return true;
  }
}

/** The filter a query string asks for, or null when it has no filter parameters. */
export function filterFromQuery(params: URLSearchParams): RecordFilter | null {
  const conditions = new Map<string, string[]>();
  for (const [name, value] of params) {
    if (RESERVED_PARAMS.has(name)) continue;
    const list = conditions.get(name);
    if (list) list.push(value);
    else conditions.set(name, [value]);
  }
  return conditions.size === 0 ? null : new RecordFilter(conditions);
}
