#!/usr/bin/env node
import { composeDashboard } from './dashboard';
import { observedExecutionServices } from './execution-services';
import { startFrontend } from './frontend';
import { onShutdown, SERVER_FLAGS, serverMain, startOrExit } from './server-main';
import { startSidePort } from './side-port';

const USAGE = `usage: node dist/src/cmd/scheduler-main.js ${SERVER_FLAGS}
Serves Execute/WaitExecution (frontends relay them here) and the worker protocol. Its config names the same
storage as the frontends' (it reads Actions, checks inputs and writes the action cache).`;

/** The scheduler as its own process: queue, operations and the worker protocol; no cache services. */
async function main(): Promise<void> {
  const m = await serverMain('rustexec-scheduler', USAGE);
  if (!m) return;
  const { logger, config, side } = m;
  // The dashboard lives where the scheduler is (action-cache hits at the frontends are not counted here).
  const dashboard = await composeDashboard(config.dashboard, side, logger);
  const server = await startOrExit(logger, () =>
    startFrontend(config, logger, observedExecutionServices(config, logger, side, dashboard), {
      cacheServices: false,
      metrics: side.metrics,
      health: side.health,
    }),
  );
  const http = await startOrExit(logger, () => startSidePort(side, server.auth, config.security, logger));
  if (http) dashboard?.serving(http.address, !!config.security.tls);
  onShutdown(logger, async () => {
    await http?.close();
    dashboard?.close();
    await server.close();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
