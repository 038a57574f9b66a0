// The HTTP server behind `-H` / `HTTP_Server On`: Prometheus exposition at Fluent Bit's paths
// plus /metrics, liveness and readiness probes, and Fluent Bit's uptime JSON. A plain
// node:http server: a handful of fixed GET routes need no framework.
import { requestTarget } from '../request-target.js';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { ServerTls } from '../tls/config.js';
import type { HealthCheckConfig } from '../config/types.js';
import type { SourceLocation } from '../config/raw.js';
import { bind } from '../net/listen.js';
import { serverOptions, watchHandshakes } from '../tls/options.js';
import type { MetricsSource } from '../engine/stats.js';
import { createMetricsRegistry } from './registry.js';
import { isWebSocketOutputStats } from '../outputs/websocket/main/stats.js';

export interface MetricsServerOptions {
  /** Address to bind (`HTTP_Listen`, 0.0.0.0 by default). */
  readonly listen: string;
  /** `HTTP_Port` (2020 by default); 0 picks a free port. */
  readonly port: number;
  /** /readyz fails once an output's connection attempts have all failed for longer than this. */
  readonly readyWindowSeconds: number;
  /** HTTPS (`http_tls`); absent or null = plain HTTP. */
  readonly tls?: ServerTls | null;
  /** The name a listen error starts with (`http_server`); absent = none. */
  readonly label?: string;
  /** Where the server is configured, for a listen error (`HTTP_Port`'s line, `-P`'s argument). */
  readonly at?: SourceLocation | null;
  /** [SERVICE] Health_Check and HC_*: GET /api/v1/health is served when enabled. */
  readonly health?: HealthCheckConfig | null;
}

export interface MetricsServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export interface Readiness {
  readonly ready: boolean;
  readonly reasons: ReadonlyArray<{ readonly output?: string; readonly reason: string }>;
}

export const METRICS_PATHS: readonly string[] = [
  '/metrics',
  '/api/v1/metrics/prometheus',
  '/api/v2/metrics/prometheus',
];

const ENDPOINTS = {
  '/metrics': 'Prometheus text exposition (also /api/v1/metrics/prometheus, /api/v2/metrics/prometheus)',
  '/healthz': 'liveness: 200 while the process serves requests',
  '/readyz': 'readiness: 200 when inputs listen and no output has failed to connect for longer than the window',
  '/api/v1/uptime': 'uptime as JSON, like Fluent Bit',
};

/**
 * The readiness window the CLI gives the metrics server: as long as a first retry waits at
 * most (2 × scheduler.base), plus a second; 11 s by default.
 */
export function readinessWindowSeconds(schedulerBaseSeconds: number): number {
  return 2 * schedulerBaseSeconds + 1;
}

/**
 * Ready = every input is listening and every output can deliver: it has a connection open, or
 * its last connection attempt succeeded, or its attempts have been failing for no longer than
 * the window (`failingSince`, monotonic ms). An output that closed an idle connection on purpose
 * has no connection and is ready: nothing failed, the next record opens one. Only websocket
 * outputs connect out; the others are always ready.
 */
export function readiness(source: MetricsSource, windowSeconds: number, now: number = performance.now()): Readiness {
  const reasons: Array<{ output?: string; reason: string }> = [];
  if (!source.inputsListening()) reasons.push({ reason: 'inputs are not listening' });
  for (const [output, stats] of Object.entries(source.stats().outputs)) {
    if (!isWebSocketOutputStats(stats) || stats.failingSince === null || stats.connectionsOpen > 0) continue;
    const failingSeconds = (now - stats.failingSince) / 1000;
    if (failingSeconds > windowSeconds) {
      reasons.push({
        output,
        reason:
          `handshakes failing for ${failingSeconds.toFixed(1)} s (window ${windowSeconds} s): ` +
          `${stats.lastFailure ?? 'unknown error'}`,
      });
    }
  }
  return { ready: reasons.length === 0, reasons };
}

/** Failed flushes and chunks given up, all outputs together, as Fluent Bit's health check counts them. */
interface HealthSample {
  readonly at: number;
  readonly errors: number;
  readonly retriesFailed: number;
}

function healthTotals(source: MetricsSource, at: number): HealthSample {
  let errors = 0;
  let retriesFailed = 0;
  for (const stats of Object.values(source.stats().outputs)) {
    if (!isWebSocketOutputStats(stats)) continue; // the others neither fail a flush nor retry one
    errors += stats.chunksFailed;
    retriesFailed += stats.retriesFailed;
  }
  return { at, errors, retriesFailed };
}

/**
 * Fluent Bit's Health_Check (src/http_server/api/v1/health.c): the counters are sampled every
 * second and samples older than HC_Period dropped; unhealthy when, since the oldest sample
 * kept, more flushes failed than HC_Errors_Count or more chunks were given up than
 * HC_Retry_Failure_Count. Here the newest value is read at the request, not at the last sample.
 */
export class HealthCheck {
  private readonly samples: HealthSample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly source: MetricsSource,
    private readonly config: HealthCheckConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  private sample(): void {
    const now = this.now();
    this.samples.push(healthTotals(this.source, now));
    const oldest = now - this.config.periodSeconds * 1000;
    while (this.samples.length > 1 && (this.samples[0]?.at ?? now) < oldest) this.samples.shift();
  }

  healthy(): boolean {
    const first = this.samples[0];
    if (first === undefined) return true;
    const current = healthTotals(this.source, this.now());
    return (
      current.errors - first.errors <= this.config.errorsCount &&
      current.retriesFailed - first.retriesFailed <= this.config.retryFailureCount
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Fluent Bit's wording: "Fluent Bit has been running:  0 day, 0 hour, 0 minute and 8 seconds". */
export function uptimeBody(seconds: number): { uptime_sec: number; uptime_hr: string } {
  const total = Math.floor(seconds);
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  return {
    uptime_sec: total,
    uptime_hr: `wsrelay has been running: ${days} day, ${hours} hour, ${minutes} minute and ${secs} seconds`,
  };
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Probes and scrapes must always see the current state.
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  // Node drops the body itself for HEAD, keeping Content-Length.
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json', `${JSON.stringify(value)}\n`, headers);
}

function hostLabel(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startMetricsServer(
  options: MetricsServerOptions,
  source: MetricsSource,
  log: Logger,
): Promise<MetricsServer> {
  const httpLog = log.child('http_server');
  const registry = createMetricsRegistry(source);
  const health = options.health?.enabled === true ? new HealthCheck(source, options.health) : null;
  const endpoints: Record<string, string> =
    health === null
      ? ENDPOINTS
      : {
          ...ENDPOINTS,
          '/api/v1/health':
            'Fluent Bit\'s Health_Check: 200 "ok", or 500 "error" past HC_Errors_Count or HC_Retry_Failure_Count within HC_Period',
        };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed', allow: ['GET', 'HEAD'] }, { Allow: 'GET, HEAD' });
      return;
    }
    // Only the path matters; the base is a placeholder for relative request targets.
    const target = requestTarget(req.url);
    if (target === null) {
      sendJson(res, 400, { error: 'bad request target' });
      return;
    }
    const path = target.path;
    if (METRICS_PATHS.includes(path)) {
      try {
        const text = await registry.metrics();
        send(res, 200, registry.contentType, text);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        httpLog.burst('error', 'http_server metrics', `collecting metrics failed: ${message}`);
        sendJson(res, 500, { error: 'collecting metrics failed', detail: message });
      }
      return;
    }
    switch (path) {
      case '/':
        sendJson(res, 200, { name: 'wsrelay', endpoints });
        return;
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/readyz': {
        const state = readiness(source, options.readyWindowSeconds);
        if (state.ready) sendJson(res, 200, { status: 'ready' });
        else sendJson(res, 503, { status: 'not ready', reasons: state.reasons });
        return;
      }
      case '/api/v1/uptime':
        sendJson(res, 200, uptimeBody(process.uptime()));
        return;
      case '/api/v1/health':
        // Fluent Bit registers it only with Health_Check on; its bodies are "ok\n" and "error\n".
        if (health !== null) {
          if (health.healthy()) send(res, 200, 'text/plain', 'ok\n');
          else send(res, 500, 'text/plain', 'error\n');
          return;
        }
        sendJson(res, 404, {
          error: 'not found (set Health_Check On in [SERVICE])',
          path,
          endpoints: Object.keys(endpoints),
        });
        return;
      default:
        sendJson(res, 404, { error: 'not found', path, endpoints: Object.keys(endpoints) });
    }
  }

  const onRequest: RequestListener = (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A failure anywhere in a handler is this request's 500, never the process's crash.
      const message = error instanceof Error ? error.message : String(error);
      httpLog.burst('error', 'http_server request', `${req.method ?? '?'} ${req.url ?? '?'} failed: ${message}`);
      try {
        sendJson(res, 500, { error: 'internal error', detail: message });
      } catch {
        res.destroy();
      }
    });
  };
  let server: Server;
  if (options.tls) {
    const https = createHttpsServer(serverOptions(options.tls), onRequest);
    watchHandshakes(https, httpLog, () => undefined);
    server = https;
  } else {
    server = createServer(onRequest);
  }
  // Slow or stuck clients cannot hold sockets open forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Malformed HTTP: answer 400 when the socket can still take it, then drop it.
    if (error.code !== 'ECONNRESET' && socket.writable) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
    socket.destroy();
  });

  try {
    await bind(server, options, options.label ?? null, options.at ?? null);
  } catch (error) {
    health?.stop(); // the health sampler stops with the server, and if it never listens
    throw error;
  }
  // After startup a server error is logged, not thrown at the process.
  server.on('error', (error: Error) => httpLog.error(`server error: ${error.message}`));

  const port = (server.address() as AddressInfo).port;
  httpLog.info(`listening on ${hostLabel(options.listen, port)}${options.tls ? ' (https)' : ''}`);

  let closing: Promise<void> | null = null;
  return {
    port,
    close: () => {
      health?.stop();
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive scrapers would otherwise hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
