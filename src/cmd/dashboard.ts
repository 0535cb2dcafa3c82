import * as path from 'node:path';
import type { Logger } from 'pino';
import type { DashboardConfig } from '../config/server-config';
import { BuildHistory } from '../dashboard/build-history';
import { BuildRecorder } from '../dashboard/build-recorder';
import { mountDashboard } from '../dashboard/dashboard-routes';
import { loadStaticFiles, StaticFile } from '../dashboard/static-files';
import type { SchedulerInsight } from '../scheduler/scheduler-observer';
import type { SidePort } from './side-port';

/** The built page, next to the compiled server (dist/web). */
const WEB_ROOT = path.join(__dirname, '../../web');

export interface Dashboard {
  /** Feeds on Execute's submissions and the action cache's hits. */
  recorder: BuildRecorder;
  /** Subscribes to the scheduler and mounts the page and API on the side port's routes. */
  attach(insight: SchedulerInsight): void;
  /** The side port's address is known: finished builds are logged with their page's URL from now on. */
  serving(address: string, tls: boolean): void;
  close(): void;
}

/**
 * The build dashboard, composed before the services so they can feed it: recorder → bounded history → page and JSON
 * API on the HTTP side port. Undefined when the side port is off or `dashboard.enabled` is false.
 */
export async function composeDashboard(config: DashboardConfig, side: SidePort, logger: Logger, idleMs = 2000): Promise<Dashboard | undefined> {
  if (!config.enabled || !side.listen) return undefined;
  const log = logger.child({ component: 'dashboard' });
  let files = new Map<string, StaticFile>();
  try {
    files = await loadStaticFiles(WEB_ROOT);
  } catch (err) {
    log.warn({ err: (err as Error).message, dir: WEB_ROOT }, 'the dashboard page is not built (npm run build); its JSON API still works');
  }
  let base: string | undefined;
  const history = new BuildHistory({
    maxBuilds: config.maxBuilds,
    maxActionsPerBuild: config.maxActionsPerBuild,
    idleMs,
    onFinished: (b) => {
      if (!base) return;
      const url = `${base}/builds/${encodeURIComponent(b.invocationId || '_')}`;
      log.info({ invocation: b.invocationId || '(none)', url, actions: b.actions.length, cacheHits: b.cacheHits }, `build ${b.invocationId || '(no invocation id)'} finished: ${url}`);
    },
  });
  const recorder = new BuildRecorder(history);
  let unsubscribe: (() => void) | undefined;
  return {
    recorder,
    attach: (insight) => {
      unsubscribe = insight.observe(recorder.onEvent, BuildRecorder.EVENTS);
      mountDashboard(side.routes, { history, insight, files, logger: log });
    },
    serving: (address, tls) => {
      // A wildcard address is not one a browser can open; loopback is the one that certainly works on this machine.
      base = `${tls ? 'https' : 'http'}://${address.replace(/^(0\.0\.0\.0|\[::\]):/, '127.0.0.1:')}`;
    },
    close: () => {
      unsubscribe?.();
      history.close();
    },
  };
}
