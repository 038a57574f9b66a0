// The embedded default behind `make run` / `wsrelay` with no arguments: a pipeline that works
// on a fresh machine with nothing else running. tcp 127.0.0.1:5170 → websocket
// 127.0.0.1:9000 (json_lines), and the bundled sink on 9000 printing what arrives.
import type { RawPipeline, RawProperty, RawSection } from './config/raw.js';

const at = { file: 'embedded default', line: 1 };

function properties(entries: Record<string, string>): RawProperty[] {
  return Object.entries(entries).map(([key, value]) => ({ key, value, at }));
}

export const DEMO_TCP_PORT = 5170;
export const DEMO_SINK_PORT = 9000;

export function demoPipeline(): RawPipeline {
  const service: RawSection = { kind: 'service', plugin: '', properties: properties({ flush: '1' }), at };
  return {
    service,
    inputs: [
      {
        kind: 'input',
        plugin: 'tcp',
        at,
        properties: properties({ listen: '127.0.0.1', port: String(DEMO_TCP_PORT), format: 'json' }),
      },
    ],
    outputs: [
      {
        kind: 'output',
        plugin: 'websocket',
        at,
        properties: properties({
          host: '127.0.0.1',
          port: String(DEMO_SINK_PORT),
          uri: '/',
          format: 'json_lines',
          match: '*',
        }),
      },
    ],
  };
}

export function demoBanner(): string {
  return [
    'wsrelay is running on its embedded default:',
    `  tcp input      127.0.0.1:${DEMO_TCP_PORT} (JSON lines)`,
    `  websocket out  ws://127.0.0.1:${DEMO_SINK_PORT}/ (json_lines), received by the bundled sink, printed below`,
    'Send it a record from another terminal:',
    `  echo '{"hello": "world"}' | nc -q0 127.0.0.1 ${DEMO_TCP_PORT}`,
    `  (or without nc, in bash: echo '{"hello": "world"}' > /dev/tcp/127.0.0.1/${DEMO_TCP_PORT})`,
    'Ctrl-C stops it. `wsrelay --help` lists the options.',
    '',
  ].join('\n');
}
