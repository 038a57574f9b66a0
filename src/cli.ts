#!/usr/bin/env node
// wsrelay's entry point: `wsrelay [fluent-bit options]`, `wsrelay sink ...`, or no arguments
// for the embedded default. Turns the command line into a validated pipeline, runs the
// engine, and stops it cleanly on SIGINT/SIGTERM within Grace seconds.
import { readFileSync } from 'node:fs';
import { parseArgv, SINK_DEFAULTS } from './cli/argv.js';
import { helpText } from './cli/help.js';
import { ConfigError } from './config/errors.js';
import { loadConfigFile } from './config/load.js';
import { resolvePipeline } from './config/resolve.js';
import type { PipelineConfig } from './config/types.js';
import type { RawPipeline } from './config/raw.js';
import { DEMO_SINK_PORT, demoBanner, demoPipeline } from './demo.js';
import { Engine } from './engine/engine.js';
import { listenerAt } from './config/listeners.js';
import { ListenError } from './net/listen.js';
import { Logger, logSink } from './log.js';
import { readinessWindowSeconds, startMetricsServer, type MetricsServer } from './metrics/server.js';
import { sinkHelpText, startSink, type RunningSink } from './sink/sink.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function runSink(listen: string, port: number, print: boolean): Promise<void> {
  const log = new Logger('info', 'sink');
  const sink = await startSink({ listen, port, print }, log);
  let last = -1;
  const report = setInterval(() => {
    if (sink.counts.records === last) return;
    last = sink.counts.records;
    log.info(`${sink.counts.records} records in ${sink.counts.messages} messages, ${sink.counts.bytes} bytes`);
  }, 5000);
  let signals = 0;
  const stop = (signal: NodeJS.Signals): void => {
    // A second signal does not wait for the clients.
    if (++signals > 1) process.exit(1);
    clearInterval(report);
    log.info(
      `caught signal (${signal}), stopping: ${sink.counts.records} records in ${sink.counts.messages} ` +
        `messages received; closing ${sink.clients} client(s)`,
    );
    void sink.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * `-c FILE` plus command-line sections: Fluent Bit appends -i/-o to the file's and lets the
 * command line's service options (-f, -v, -H ...) override the file's.
 */
function withCommandLine(file: RawPipeline, cli: RawPipeline): RawPipeline {
  return {
    service: { ...file.service, properties: [...file.service.properties, ...cli.service.properties] },
    inputs: [...file.inputs, ...cli.inputs],
    outputs: [...file.outputs, ...cli.outputs],
  };
}

async function runRelay(config: PipelineConfig, log: Logger, demoSink: RunningSink | null): Promise<void> {
  const engine = new Engine(config, log);
  let metrics: MetricsServer | null = null;
  // The metrics server binds first: `[engine] started` is the last line of a start that
  // succeeded, and a port in use anywhere leaves nothing running (and nothing said started).
  if (config.service.http.enabled) {
    // Ready means: no output has failed to connect for longer than a first retry waits.
    const readyWindowSeconds = readinessWindowSeconds(config.service.schedulerBaseSeconds);
    metrics = await startMetricsServer(
      {
        listen: config.service.http.listen,
        port: config.service.http.port,
        readyWindowSeconds,
        tls: config.service.http.tls,
        label: 'http_server',
        at: listenerAt(config.service.http),
        health: config.service.healthCheck,
      },
      engine,
      log,
    );
  }
  try {
    await engine.start();
  } catch (error) {
    await metrics?.close(); // nothing keeps running half-configured
    throw error;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    log.child('engine').warn(`caught signal (${signal})`);
    if (signals > 1) process.exit(1);
    void engine.shutdown().then(async () => {
      await metrics?.close();
      await demoSink?.close();
      process.exit(0);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(argv: string[]): Promise<void> {
  const command = parseArgv(argv);
  switch (command.kind) {
    case 'help':
      // `wsrelay sink --help` is the sink's own help.
      process.stdout.write(argv[0] === 'sink' ? sinkHelpText(SINK_DEFAULTS) : helpText());
      return;
    case 'version':
      process.stdout.write(`wsrelay v${version()}\n`);
      return;
    case 'sink':
      await runSink(command.listen, command.port, command.print);
      return;
    case 'relay':
      break;
  }
  const raw =
    command.configFile !== null
      ? withCommandLine(loadConfigFile(command.configFile), command.pipeline)
      : command.demo
        ? demoPipeline()
        : command.pipeline;
  const { config, warnings } = resolvePipeline(raw);
  const log = new Logger(config.service.logLevel, '', logSink(config.service.logFile));
  for (const warning of warnings) log.warn(warning);
  if (command.dryRun) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return;
  }
  log.info(`wsrelay v${version()}`);
  let demoSink: RunningSink | null = null;
  if (command.demo) {
    process.stdout.write(demoBanner());
    try {
      demoSink = await startSink({ listen: '127.0.0.1', port: DEMO_SINK_PORT, print: true }, log.child('sink'));
    } catch (error) {
      log.warn(`${(error as Error).message}: sending to whatever listens there`);
    }
  }
  await runRelay(config, log, demoSink);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`wsrelay: ${message}\n`);
  // 2: the configuration must change (a bad key, a port another process holds); 1: otherwise.
  const fromConfig = error instanceof ConfigError || (error instanceof ListenError && error.fromConfig);
  process.exit(fromConfig ? 2 : 1);
});
