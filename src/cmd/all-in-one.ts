#!/usr/bin/env node
import * as os from 'node:os';
import { defaultConfig, loadServerConfig, ServerConfig } from '../config/server-config';
import { parseListenAddress } from '../grpc/listen-address';
import { createLogger } from '../logging/logger';
import { parseArgs } from './cli-args';
import { startFrontend } from './frontend';

const USAGE = 'usage: npm start -- [--port N] [--listen HOST:PORT] [--data DIR] [--config FILE] [--workers N]';

async function main(): Promise<void> {
  const logger = createLogger('rustexec');
  let args: Record<string, string | boolean>;
  let config: ServerConfig;
  try {
    args = parseArgs(process.argv.slice(2), { port: 'string', listen: 'string', data: 'string', config: 'string', workers: 'string', help: 'boolean' });
    if (args.help) {
      console.log(USAGE);
      return;
    }
    config = args.config ? await loadServerConfig(String(args.config)) : defaultConfig(String(args.data ?? './data'));
    if (args.listen) config.listen = String(args.listen);
    if (args.port) config.listen = `${parseListenAddress(config.listen).host}:${Number(args.port)}`;
    parseListenAddress(config.listen);
  } catch (err) {
    logger.fatal((err as Error).message);
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const frontend = await startFrontend(config, logger);
  logger.info({ cpus: os.cpus().length }, 'ready');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await frontend.close();
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
