// Binding a TCP or TLS listener with a clear error, for every server the relay runs: the network
// inputs, the websocket_server output and the metrics server. It lives below all of them so
// that none borrows it from another's folder.
import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';
import type { Logger } from '../log.js';
import { formatLocation } from '../config/errors.js';
import { hostPort, listenerAt } from '../config/listeners.js';
import type { SourceLocation } from '../config/raw.js';

/** Listen failures that the configuration causes (exit 2): the address, its port, its host. */
const CONFIG_LISTEN_CODES: ReadonlySet<string> = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND']);

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EACCES: 'permission denied',
  ENOTFOUND: 'host name not found',
};

/**
 * A listener could not bind: `<file:line>: [<listener>] cannot listen on <addr>: <why>`.
 * The name stays `Error`, so `String(error)` reads as before.
 */
export class ListenError extends Error {
  readonly code: string | null;
  /** The configuration can fix it (port in use, no such address, privileged port): exit 2. */
  readonly fromConfig: boolean;

  constructor(
    readonly listener: string | null,
    readonly address: string,
    readonly reason: string,
    readonly at: SourceLocation | null,
    cause: NodeJS.ErrnoException,
  ) {
    const where = at === null ? '' : `${formatLocation(at)}: `;
    const who = listener === null ? '' : `[${listener}] `;
    super(`${where}${who}cannot listen on ${address}: ${reason}`, { cause });
    this.code = cause.code ?? null;
    this.fromConfig = this.code !== null && CONFIG_LISTEN_CODES.has(this.code);
  }
}

/**
 * Binds every listener (inputs, websocket_server, the metrics server): resolves once it
 * listens, or rejects with a ListenError naming `label` (null: no name in the message), where
 * it is configured (the config object's location from resolvePipeline, unless `at` is given)
 * and why. Does not log: each caller says what it serves.
 */
export function bind(
  server: Server | HttpServer,
  address: { listen: string; port: number },
  label: string | null,
  at: SourceLocation | null = listenerAt(address),
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const why = (error.code === undefined ? undefined : REASONS[error.code]) ?? error.message;
      reject(new ListenError(label, hostPort(address.listen, address.port), why, at, error));
    };
    server.once('error', onError);
    server.listen(address.port, address.listen, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Listens, or rejects with `<file:line>: [input:<plugin>:<name>] cannot listen on <addr>: <why>`. */
export async function listen(
  server: Server | HttpServer,
  address: { listen: string; port: number },
  label: string,
  log: Logger,
): Promise<void> {
  await bind(server, address, label);
  server.on('error', (error: Error) => log.error(`server error: ${error.message}`));
  log.info(`listening on ${address.listen}:${boundPort(server, address.port)}`);
}

/** The port actually bound (differs from the config when it asked for 0). */
export function boundPort(server: Server | HttpServer, configured: number): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : configured;
}
