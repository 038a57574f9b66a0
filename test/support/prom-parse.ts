// A strict parser for the Prometheus text exposition format (0.0.4), stricter than Prometheus
// itself where that catches exporter bugs: every family needs HELP and TYPE before its samples,
// families are contiguous, no series appears twice, counters are non-negative and histograms
// are cumulative with +Inf == _count. Throws an Error naming the line on the first violation.

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  help: string | null;
  type: MetricKind | null;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const KINDS: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Values as Prometheus reads them (Go's strconv.ParseFloat): NaN and Inf in any case. That
 * matters: prom-client writes NaN as `Nan` (nodejs_eventloop_lag_mean_seconds before a sample).
 */
function parseValue(text: string, where: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (!NUMBER.test(text)) throw new Error(`${where}: bad value '${text}'`);
  return Number(text);
}

/** Parses `{a="x",b="y\"z"}` starting at `start` (the `{`); returns labels and the index after `}`. */
function parseLabels(line: string, start: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name '${name}'`);
    if (name in labels) throw new Error(`${where}: duplicate label '${name}'`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value of '${name}' is not quoted`);
    let value = '';
    let j = eq + 2;
    for (; ; j++) {
      const c = line[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const next = line[++j];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`${where}: bad escape '\\${next ?? ''}' in label value`);
      } else {
        value += c;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label '${name}'`);
  }
  return { labels, end: i + 1 };
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const family = families.get(name.slice(0, -suffix.length));
    if (!family) continue;
    if (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket')) return family;
  }
  return undefined;
}

export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  return `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = seriesKey('', rest);
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}${key}: bucket without le`);
      group.buckets.push([parseValue(le, `${family.name} le`), sample.value]);
    } else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
    else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else throw new Error(`${family.name}: unexpected sample ${sample.name} in a histogram`);
  }
  for (const [key, group] of groups) {
    const where = `${family.name}${key}`;
    if (group.sum === undefined || group.count === undefined) throw new Error(`${where}: _sum or _count missing`);
    const last = group.buckets[group.buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${where}: the last bucket is not le="+Inf"`);
    for (let i = 1; i < group.buckets.length; i++) {
      const [le, count] = group.buckets[i]!;
      const [prevLe, prevCount] = group.buckets[i - 1]!;
      if (!(le > prevLe)) throw new Error(`${where}: le ${le} not above ${prevLe}`);
      if (count < prevCount) throw new Error(`${where}: bucket le=${le} (${count}) below le=${prevLe} (${prevCount})`);
    }
    if (last[1] !== group.count) throw new Error(`${where}: +Inf bucket ${last[1]} != _count ${group.count}`);
  }
}

export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: Family | null = null;
  const closed = new Set<string>();
  const declare = (name: string, where: string): Family => {
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name '${name}'`);
    let family = families.get(name);
    if (!family) {
      family = { name, help: null, type: null, samples: [] };
      families.set(name, family);
    }
    if (current && current !== family) closed.add(current.name);
    if (closed.has(name)) throw new Error(`${where}: family ${name} is not contiguous`);
    current = family;
    return family;
  };
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, index) => {
      const where = `line ${index + 1}`;
      if (line.trim() === '') return;
      if (line.startsWith('#')) {
        const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
        if (!match) return; // an ordinary comment
        const family = declare(match[2]!, where);
        if (match[1] === 'HELP') {
          if (family.help !== null) throw new Error(`${where}: second HELP for ${family.name}`);
          if (family.samples.length > 0) throw new Error(`${where}: HELP after samples of ${family.name}`);
          family.help = match[3]!;
        } else {
          if (family.type !== null) throw new Error(`${where}: second TYPE for ${family.name}`);
          if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${family.name}`);
          if (!KINDS.includes(match[3]!)) throw new Error(`${where}: unknown type '${match[3]}'`);
          family.type = match[3] as MetricKind;
        }
        return;
      }
      const nameEnd = line.search(/[{ ]/);
      if (nameEnd <= 0) throw new Error(`${where}: not a sample: ${line}`);
      const name = line.slice(0, nameEnd);
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name '${name}'`);
      let labels: Record<string, string> = {};
      let rest = line.slice(nameEnd);
      if (rest.startsWith('{')) {
        const parsed = parseLabels(line, nameEnd, where);
        labels = parsed.labels;
        rest = line.slice(parsed.end);
      }
      const fields = rest.split(' ');
      if (fields[0] !== '' || fields.length < 2 || fields.length > 3)
        throw new Error(`${where}: bad sample syntax: ${line}`);
      const value = parseValue(fields[1]!, where);
      if (fields[2] !== undefined && !/^-?\d+$/.test(fields[2])) throw new Error(`${where}: bad timestamp`);
      const family = familyOf(name, families);
      if (!family || family !== current)
        throw new Error(`${where}: sample ${name} outside its family's HELP/TYPE block`);
      if (family.help === null || family.type === null) throw new Error(`${where}: ${family.name} lacks HELP or TYPE`);
      const key = seriesKey(name, labels);
      if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`);
      series.add(key);
      if (family.type === 'counter' && !(value >= 0)) throw new Error(`${where}: counter ${name} is ${value}`);
      if ('le' in labels && family.type !== 'histogram') throw new Error(`${where}: le label outside a histogram`);
      family.samples.push({ name, labels, value });
    });
  for (const family of families.values()) {
    if (family.type === null || family.help === null) throw new Error(`${family.name}: HELP or TYPE missing`);
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

/** The value of the one sample with exactly these labels; throws when there is none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const key = seriesKey(name, labels);
  for (const family of families.values()) {
    for (const sample of family.samples) if (seriesKey(sample.name, sample.labels) === key) return sample.value;
  }
  throw new Error(`no sample ${key}`);
}

/** Every sample name in the exposition (histograms contribute _bucket, _sum and _count). */
export function sampleNames(families: Map<string, Family>): Set<string> {
  const names = new Set<string>();
  for (const family of families.values()) for (const sample of family.samples) names.add(sample.name);
  return names;
}
