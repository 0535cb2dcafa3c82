#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { executionServices } from './execution-services';
import { startFrontend } from './frontend';
import { LocalWorkers } from './local-workers';
import { onShutdown, SERVER_FLAGS, serverMain, startOrExit } from './server-main';

const USAGE = `usage: npm start -- ${SERVER_FLAGS} [--workers N] [--rust-fusion=false]`;

/** Everything on one machine: cache + execution frontend, scheduler, and N local worker processes. */
async function main(): Promise<void> {
  const m = await serverMain('rustexec', USAGE, { workers: 'string', 'rust-fusion': 'boolean' });
  if (!m) return;
  const { logger, config, args, dataDir } = m;
  if (args['rust-fusion'] !== undefined) config.execution.rustFusion = args['rust-fusion'] === true;
  const workerCount = args.workers !== undefined ? Number(args.workers) : os.cpus().length;
  if (!Number.isInteger(workerCount) || workerCount < 0) {
    logger.fatal(`--workers must be a whole number ≥ 0, got "${args.workers}"`);
    process.exit(2);
  }
  // The local workers authenticate with a token that lives only in this process and its children.
  if (config.security.tokensFile) config.security.localWorkerToken = randomBytes(32).toString('hex');
  const frontend = await startOrExit(logger, () => startFrontend(config, logger, executionServices(config.execution, config.maxInlineBytes, logger)));
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
  onShutdown(logger, async () => {
    await workers.stop();
    await frontend.close();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
