// Every address:port the pipeline will listen on (tcp/http/forward inputs, the metrics server,
// websocket_server outputs), checked at validation time: two listeners the kernel would not let
// bind together are a config error naming both, found by --dry-run as well as by a real start.
// Each listener's config object is also mapped to where it is configured, so an error at listen
// time (a port another process holds) names the file and line too.
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError, formatLocation } from './errors.js';
import { lastAt } from './sections.js';
import type { InputConfig, OutputConfig, ServiceConfig } from './types.js';
import type { RawPipeline, SourceLocation } from './raw.js';

/** One listening socket as configured. */
export interface ListenerSpec {
  /** Section label as errors show it: `INPUT tcp.0`, `OUTPUT websocket_server.0`, `SERVICE`. */
  readonly section: string;
  readonly listen: string;
  readonly port: number;
  readonly at: SourceLocation;
}

/** Config object (an input's, an output's, service.http) → where it is configured. */
const locations = new WeakMap<object, SourceLocation>();

/** Where a listener's config comes from, when it went through resolvePipeline. */
export function listenerAt(config: object): SourceLocation | null {
  return locations.get(config) ?? null;
}

/** `127.0.0.1:5170`, `[::]:2020`. */
export function hostPort(listen: string, port: number): string {
  return listen.includes(':') ? `[${listen}]:${port}` : `${listen}:${port}`;
}

type Address =
  | { readonly kind: 'any' }
  | { readonly kind: 'any4' }
  | { readonly kind: 'ip4' | 'ip6' | 'name'; readonly text: string };

function parseAddress(listen: string): Address {
  let text = listen.trim().toLowerCase();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (mapped !== null) text = mapped[1]!;
  if (text === '' || (isIPv6(text) && /^[0:]+$/.test(text))) return { kind: 'any' };
  if (text === '0.0.0.0') return { kind: 'any4' };
  if (isIPv4(text)) return { kind: 'ip4', text };
  if (isIPv6(text)) return { kind: 'ip6', text };
  return { kind: 'name', text };
}

/**
 * Whether the kernel refuses the second bind (Linux, no SO_REUSEPORT): the same port, and the
 * same address or a wildcard covering the other. `::` (Node binds it dual-stack) covers every
 * address; 0.0.0.0 covers every IPv4 address but not a specific IPv6 one. A host name is taken
 * as covered by either wildcard (it resolves to some address). Port 0 is a fresh port each time.
 */
export function listenersOverlap(a: { listen: string; port: number }, b: { listen: string; port: number }): boolean {
  if (a.port === 0 || b.port === 0 || a.port !== b.port) return false;
  const x = parseAddress(a.listen);
  const y = parseAddress(b.listen);
  if (x.kind === 'any' || y.kind === 'any') return true;
  if (x.kind === 'any4' || y.kind === 'any4') {
    const other = x.kind === 'any4' ? y : x;
    return other.kind !== 'ip6';
  }
  return x.text === y.text;
}

/**
 * Lists the pipeline's listeners (recording where each is configured, for listenerAt) and
 * throws a ConfigError for the first one that overlaps an earlier one. `inputs` and `outputs`
 * are the resolved sections of `raw`, in the same order.
 */
export function checkListeners(
  raw: RawPipeline,
  service: ServiceConfig,
  inputs: readonly InputConfig[],
  outputs: readonly OutputConfig[],
): ListenerSpec[] {
  const listeners: ListenerSpec[] = [];
  const add = (config: object, spec: ListenerSpec): void => {
    locations.set(config, spec.at);
    for (const earlier of listeners) {
      if (!listenersOverlap(earlier, spec)) continue;
      const same = earlier.listen === spec.listen;
      const theirs = same ? '' : ` on ${hostPort(earlier.listen, earlier.port)}`;
      const what = spec.section === 'SERVICE' ? 'the metrics server (HTTP_Server) ' : '';
      throw new ConfigError(
        'WSR_CONFIG_BAD_VALUE',
        `${what}listens on ${hostPort(spec.listen, spec.port)}, as [${earlier.section}] (${formatLocation(earlier.at)}) does${theirs}`,
        { at: spec.at, key: 'port', section: spec.section },
      );
    }
    listeners.push(spec);
  };

  if (service.http.enabled) {
    const s = raw.service;
    const at = lastAt(s, 'http_port') ?? lastAt(s, 'http_listen') ?? lastAt(s, 'http_server') ?? s.at;
    add(service.http, { section: 'SERVICE', listen: service.http.listen, port: service.http.port, at });
  }
  const counters = new Map<string, number>();
  const label = (kind: string, plugin: string): string => {
    const n = counters.get(`${kind} ${plugin}`) ?? 0;
    counters.set(`${kind} ${plugin}`, n + 1);
    return `${kind} ${plugin}.${n}`;
  };
  inputs.forEach((input, i) => {
    const section = label('INPUT', input.plugin);
    const at = raw.inputs[i]?.at;
    if (input.plugin === 'dummy' || input.plugin === 'cpu' || input.plugin === 'mem' || at === undefined) return;
    add(input, { section, listen: input.listen, port: input.port, at });
  });
  outputs.forEach((output, i) => {
    const section = label('OUTPUT', output.plugin);
    const at = raw.outputs[i]?.at;
    if (output.plugin !== 'websocket_server' || at === undefined) return;
    add(output, { section, listen: output.listen, port: output.port, at });
  });
  return listeners;
}
