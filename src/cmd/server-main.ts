import * as path from 'node:path';
import type { Logger } from 'pino';
import { defaultConfig, loadServerConfig, ServerConfig } from '../config/server-config';
import { parseListenAddress } from '../grpc/listen-address';
import { createLogger } from '../logging/logger';
import { allowedListenAddress } from '../auth/listen-policy';
import { parseArgs } from './cli-args';
import { SIDE_PORT_FLAGS, SidePort, sidePort } from './side-port';

export const SERVER_FLAGS = '[--port N] [--listen HOST:PORT] [--data DIR] [--config FILE] [--tokens FILE] [--tls-cert FILE --tls-key FILE [--tls-ca FILE] [--tls-client-ca FILE]] [--insecure] [--http HOST:PORT|off] [--metrics=false]';

/** What every server entry point shares: flags over a config file (or the embedded defaults), logging, signals. */
export interface ServerMain {
  logger: Logger;
  config: ServerConfig;
  args: Record<string, string | boolean | string[]>;
  dataDir: string;
  /** The HTTP side port's routes, health and metrics (started by the entry point once the services are up). */
  side: SidePort;
}

/**
 * Parses the common server flags plus `extraFlags`; on a bad flag or config prints `usage` and exits with status 2.
 * Returns undefined for --help.
 */
export async function serverMain(name: string, usage: string, extraFlags: Record<string, 'string' | 'boolean'> = {}, httpDefault?: (listen: string) => string): Promise<ServerMain | undefined> {
  const logger = createLogger(name);
  try {
    const args = parseArgs(process.argv.slice(2), {
      port: 'string', listen: 'string', data: 'string', config: 'string', help: 'boolean',
      tokens: 'string', 'tls-cert': 'string', 'tls-key': 'string', 'tls-ca': 'string', 'tls-client-ca': 'string', insecure: 'boolean', ...SIDE_PORT_FLAGS, ...extraFlags,
    });
    if (args.help) {
      console.log(usage);
      return undefined;
    }
    const config = args.config ? await loadServerConfig(String(args.config)) : defaultConfig(String(args.data ?? './data'));
    if (args.listen) config.listen = String(args.listen);
    if (args.port !== undefined) config.listen = `${parseListenAddress(config.listen).host}:${Number(args.port)}`;
    if (args.tokens) config.security.tokensFile = path.resolve(String(args.tokens));
    if (args['tls-cert'] || args['tls-key']) {
      if (!args['tls-cert'] || !args['tls-key']) throw new Error('--tls-cert and --tls-key go together');
      config.security.tls = { certFile: path.resolve(String(args['tls-cert'])), keyFile: path.resolve(String(args['tls-key'])), caFile: args['tls-ca'] ? path.resolve(String(args['tls-ca'])) : undefined, clientCaFile: args['tls-client-ca'] ? path.resolve(String(args['tls-client-ca'])) : undefined };
    }
    if (args.insecure) config.security.insecure = true;
    const side = sidePort(args, httpDefault?.(config.listen));
    // Checked before anything starts, so a refused side port fails the start like a refused gRPC address.
    if (side.listen) allowedListenAddress(side.listen, { authEnabled: !!config.security.tokensFile, insecure: !!config.security.insecure }, undefined, 'HTTP');
    return { logger, config, args, dataDir: path.resolve(String(args.data ?? './data')), side };
  } catch (err) {
    logger.fatal((err as Error).message);
    console.error(usage);
    process.exit(2);
  }
}

/** Starts the server, or logs why it cannot (bad config, refused listen address) and exits with status 2. */
export async function startOrExit<T>(logger: Logger, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    logger.fatal((err as Error).message);
    logger.flush?.();
    process.exit(2);
  }
}

/** Runs `close` once on SIGINT/SIGTERM, then exits. */
export function onShutdown(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
