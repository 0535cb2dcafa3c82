import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFlags, runBazel, startServerProcess } from '../test/e2e/bazel-harness';
import { makeRustExampleWorkspace } from '../test/e2e/rust-example';
import { launchChromium } from '../test/helpers/browser';
import { median, processCpuSeconds, report } from './bench-util';

const ROUNDS = Number(process.env.DASHBOARD_BENCH_ROUNDS ?? 3);

/**
 * Does watching a build slow it down? Clean builds of the Rust example (every action executed) through one server,
 * alternately with nobody looking and with the dashboard open in Chromium: a tab on the Now view (server-sent events
 * every second, the builds list polled every 3 s) and a tab that opens the running build's page as soon as it is
 * listed (polled every 2 s until the build finishes). Rounds alternate the order (closed/open, open/closed, …) so a
 * drifting machine does not favour one side. Reports medians of the build's wall time and of the server process's
 * CPU (where the dashboard's work happens; workers and rustc are its children and not counted), and the median ratio of
 * the two builds of each round. DASHBOARD_BENCH_ROUNDS sets the rounds (default 3).
 */
export async function dashboardBench(): Promise<void> {
  const data = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-dashboard-'));
  const server = await startServerProcess({ args: ['--data', data, '--workers', String(os.cpus().length), '--http', '127.0.0.1:0'] });
  const ws = await makeRustExampleWorkspace();
  try {
    const ready = await waitFor(() => server.logRecords().find((r) => r.msg === 'ready'));
    const base = `http://${ready.http as string}`;
    const flags = [...buildFlags({ remoteExecutor: server.port }), '--noremote_accept_cached', '--jobs=32', '--remote_download_toplevel'];
    await runBazel(ws, ['build', ...flags, '//...'], { timeoutMs: 900_000 }); // uploads the toolchain, warms worker caches
    const runs: Record<'closed' | 'open', { wall: number; cpu: number }[]> = { closed: [], open: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const mode of i % 2 === 0 ? (['closed', 'open'] as const) : (['open', 'closed'] as const)) {
        await runBazel(ws, ['clean']);
        const browser = mode === 'open' ? await launchChromium() : undefined;
        let following: Promise<unknown> = Promise.resolve();
        if (browser) {
          const now = await browser.context.newPage();
          await now.goto(`${base}/`);
          await now.waitForSelector('[data-testid=running-count]');
          const follower = await browser.context.newPage();
          await follower.goto(`${base}/`);
          // Opens the running build's page once it is listed, as a person would.
          following = follower.click('tr:has(.chip.running) a', { timeout: 120_000 }).catch(() => undefined);
        }
        const cpu0 = processCpuSeconds(server.child.pid!);
        const t = process.hrtime.bigint();
        await runBazel(ws, ['build', ...flags, '//...'], { timeoutMs: 900_000 });
        const wall = Number(process.hrtime.bigint() - t) / 1e9;
        runs[mode].push({ wall, cpu: processCpuSeconds(server.child.pid!) - cpu0 });
        await following;
        await browser?.close();
        console.log(`  dashboard ${mode}: wall ${wall.toFixed(2)} s`);
      }
    }
    const [closed, open] = [runs.closed, runs.open];
    const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
    report('dashboard: clean Rust example build, nobody watching', median(closed.map((r) => r.wall)), 's', `range ${spread(closed.map((r) => r.wall))} s`);
    report('dashboard: same build with the dashboard open', median(open.map((r) => r.wall)), 's', `range ${spread(open.map((r) => r.wall))} s; ratio ${(median(open.map((r) => r.wall)) / median(closed.map((r) => r.wall))).toFixed(2)}×`);
    // Each round's two builds ran back to back: their ratio is less exposed to a machine whose load drifts over the run.
    const paired = closed.map((c, i) => open[i].wall / c.wall);
    report('dashboard: open / closed, median of back-to-back pairs', median(paired), '×', `pairs ${paired.map((r) => r.toFixed(2)).join(', ')}`);
    report('dashboard: server process CPU per build, nobody watching', median(closed.map((r) => r.cpu)), 's');
    report('dashboard: server process CPU per build, dashboard open', median(open.map((r) => r.cpu)), 's');
  } finally {
    await ws.cleanup();
    await server.stop();
    await fsp.rm(data, { recursive: true, force: true });
  }
}

async function waitFor<T>(f: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (require.main === module) {
  dashboardBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
