#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultConfig, loadServerConfig, ServerConfig } from '../config/server-config';
import { parseListenAddress } from '../grpc/listen-address';
import { createLogger } from '../logging/logger';
import { parseArgs } from './cli-args';
import { executionServices } from './execution-services';
import { startFrontend } from './frontend';
import { LocalWorkers } from './local-workers';

const USAGE = 'usage: npm start -- [--port N] [--listen HOST:PORT] [--data DIR] [--config FILE] [--workers N] [--tokens FILE] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]] [--insecure]';

/** Everything on one machine: cache + execution frontend, scheduler, and N local worker processes. */
async function main(): Promise<void> {
  const logger = createLogger('rustexec');
  let args: Record<string, string | boolean>;
  let config: ServerConfig;
  let workerCount: number;
  try {
    args = parseArgs(process.argv.slice(2), {
      port: 'string', listen: 'string', data: 'string', config: 'string', workers: 'string', help: 'boolean',
      tokens: 'string', 'tls-cert': 'string', 'tls-key': 'string', 'tls-ca': 'string', insecure: 'boolean',
    });
    if (args.help) {
      console.log(USAGE);
      return;
    }
    config = args.config ? await loadServerConfig(String(args.config)) : defaultConfig(String(args.data ?? './data'));
    if (args.listen) config.listen = String(args.listen);
    if (args.port !== undefined) config.listen = `${parseListenAddress(config.listen).host}:${Number(args.port)}`;
    workerCount = args.workers !== undefined ? Number(args.workers) : os.cpus().length;
    if (!Number.isInteger(workerCount) || workerCount < 0) throw new Error(`--workers must be a whole number ≥ 0, got "${args.workers}"`);
    if (args.tokens) config.security.tokensFile = path.resolve(String(args.tokens));
    if (args['tls-cert'] || args['tls-key']) {
      if (!args['tls-cert'] || !args['tls-key']) throw new Error('--tls-cert and --tls-key go together');
      config.security.tls = { certFile: path.resolve(String(args['tls-cert'])), keyFile: path.resolve(String(args['tls-key'])), caFile: args['tls-ca'] ? path.resolve(String(args['tls-ca'])) : undefined };
    }
    if (args.insecure) config.security.insecure = true;
    // The local workers authenticate with a token that lives only in this process and its children.
    if (config.security.tokensFile) config.security.localWorkerToken = randomBytes(32).toString('hex');
  } catch (err) {
    logger.fatal((err as Error).message);
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  let frontend;
  try {
    frontend = await startFrontend(config, logger, executionServices(config.execution, config.maxInlineBytes, logger));
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exitCode = 2;
    return;
  }
  const dataDir = path.resolve(String(args.data ?? './data'));
  const tls = config.security.tls;
  const workers = new LocalWorkers(
    {
      count: workerCount,
      schedulerAddress: `127.0.0.1:${frontend.port}`,
      dataDir,
      extraArgs: tls ? ['--tls-ca', tls.caFile ?? tls.certFile] : [],
      env: config.security.localWorkerToken ? { RUSTEXEC_TOKEN: config.security.localWorkerToken } : {},
    },
    logger,
  );
  workers.start();
  logger.info({ port: frontend.port, workers: workerCount, data: dataDir }, 'ready');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await workers.stop();
    await frontend.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
