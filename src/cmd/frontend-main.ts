#!/usr/bin/env node
import { ChannelCredentials, Client, makeGenericClientConstructor } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import { ExecutionService } from '../grpc/service-definitions';
import { parseListenAddress } from '../grpc/listen-address';
import { ExecutionClient, executionProxyService } from '../services/execution-proxy-service';
import { startFrontend } from './frontend';
import { channelReady } from './channel-ready';
import { onShutdown, SERVER_FLAGS, serverMain, startOrExit } from './server-main';
import { startSidePort } from './side-port';

const USAGE = `usage: node dist/src/cmd/frontend-main.js ${SERVER_FLAGS} [--scheduler HOST:PORT] [--scheduler-ca FILE]
Serves the cache APIs from its configured storage, and relays Execute/WaitExecution to the scheduler when one is given.`;

/** A frontend as its own process: cache services on shared storage, Execution relayed to a separate scheduler. */
async function main(): Promise<void> {
  const m = await serverMain('rustexec-frontend', USAGE, { scheduler: 'string', 'scheduler-ca': 'string' });
  if (!m) return;
  const { logger, config, args, side } = m;
  let scheduler: (ExecutionClient & Client) | undefined;
  if (args.scheduler) {
    const address = String(args.scheduler);
    parseListenAddress(address);
    const creds = args['scheduler-ca'] ? ChannelCredentials.createSsl(await fsp.readFile(String(args['scheduler-ca']))) : ChannelCredentials.createInsecure();
    const Client = makeGenericClientConstructor(ExecutionService, 'Execution');
    scheduler = new Client(address, creds, { 'grpc.keepalive_time_ms': 60_000 }) as unknown as ExecutionClient & Client;
    side.health.addCheck('scheduler', channelReady(scheduler, address));
  }
  const server = await startOrExit(logger, () =>
    startFrontend(config, logger, scheduler ? () => [[ExecutionService, executionProxyService(scheduler!, logger)]] : undefined, { metrics: side.metrics, health: side.health }),
  );
  const http = await startOrExit(logger, () => startSidePort(side, server.auth, config.security, logger));
  logger.info({ port: server.port, http: http?.address ?? null, scheduler: args.scheduler ?? null }, 'ready');
  onShutdown(logger, async () => {
    await http?.close();
    await server.close();
    scheduler?.close();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
