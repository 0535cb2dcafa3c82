#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { parseListenAddress } from '../grpc/listen-address';
import { composeDashboard } from './dashboard';
import { observedExecutionServices } from './execution-services';
import { startFrontend } from './frontend';
import { LocalWorkers } from './local-workers';
import { onShutdown, SERVER_FLAGS, serverMain, startOrExit } from './server-main';
import { startSidePort } from './side-port';

const USAGE = `usage: npm start -- ${SERVER_FLAGS} [--workers N] [--rust-fusion=false] [--sandbox auto|bwrap|none]
--sandbox is passed to the local workers (default auto: bubblewrap when it works here).
The HTTP side port (the build dashboard, /metrics, /healthz, /readyz) defaults to the gRPC host and port + 1 (127.0.0.1:8981).`;

/** Everything on one machine: cache + execution frontend, scheduler, and N local worker processes. */
async function main(): Promise<void> {
  const m = await serverMain('rustexec', USAGE, { workers: 'string', 'rust-fusion': 'boolean', sandbox: 'string' }, nextPort);
  if (!m) return;
  const { logger, config, args, dataDir, side } = m;
  if (args['rust-fusion'] !== undefined) config.execution.rustFusion = args['rust-fusion'] === true;
  const workerCount = args.workers !== undefined ? Number(args.workers) : os.cpus().length;
  if (!Number.isInteger(workerCount) || workerCount < 0) {
    logger.fatal(`--workers must be a whole number ≥ 0, got "${args.workers}"`);
    process.exit(2);
  }
  // The local workers authenticate with a token that lives only in this process and its children.
  if (config.security.tokensFile) config.security.localWorkerToken = randomBytes(32).toString('hex');
  const dashboard = await composeDashboard(config.dashboard, side, logger);
  const frontend = await startOrExit(logger, () =>
    startFrontend(config, logger, observedExecutionServices(config, logger, side, dashboard), {
      metrics: side.metrics,
      health: side.health,
      onCacheHit: dashboard?.recorder.onCacheHit,
    }),
  );
  const http = await startOrExit(logger, () => startSidePort(side, frontend.auth, config.security, logger));
  if (http) dashboard?.serving(http.address, !!config.security.tls);
  const tls = config.security.tls;
  const workers = new LocalWorkers(
    {
      count: workerCount,
      schedulerAddress: `127.0.0.1:${frontend.port}`,
      dataDir,
      extraArgs: [...(tls ? ['--tls-ca', tls.caFile ?? tls.certFile] : []), ...(args.sandbox !== undefined ? ['--sandbox', String(args.sandbox)] : [])],
      env: config.security.localWorkerToken ? { RUSTEXEC_TOKEN: config.security.localWorkerToken } : {},
    },
    logger,
  );
  workers.start();
  logger.info({ port: frontend.port, http: http?.address ?? null, workers: workerCount, data: dataDir }, 'ready');
  onShutdown(logger, async () => {
    await http?.close();
    dashboard?.close();
    await workers.stop();
    await frontend.close();
  });
}

/** The gRPC address with port + 1 (port 0 stays 0: a free one). */
function nextPort(listen: string): string {
  const { host, port } = parseListenAddress(listen);
  return `${host.includes(':') ? `[${host}]` : host}:${port === 0 ? 0 : port + 1}`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
