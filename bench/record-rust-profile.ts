import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { executionServices } from '../src/cmd/execution-services';
import { startFrontend } from '../src/cmd/frontend';
import { LocalWorkers } from '../src/cmd/local-workers';
import { defaultConfig } from '../src/config/server-config';
import { silentLogger } from '../src/logging/logger';
import { SchedulerInsight } from '../src/scheduler/scheduler-observer';
import { acquireBazelLock, buildFlags, runBazel } from '../test/e2e/bazel-harness';
import { makeRustExampleWorkspace } from '../test/e2e/rust-example';
import { PROFILE_FILE, RustProfile } from './rust-graph';

/**
 * Records the crate graph and measured durations of the rules_rust example (pipelined, fusion off, one worker with one
 * slot, so each action runs alone): per crate the time to its .rmeta, its full compile and the cores it kept busy
 * (CPU seconds / wall seconds). The scheduler simulation replays this. Run: node dist/bench/record-rust-profile.js
 */
async function main(): Promise<void> {
  const release = await acquireBazelLock();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'record-rust-profile-'));
  const config = { ...defaultConfig(dataDir), listen: '127.0.0.1:0' };
  config.execution = { ...config.execution, rustFusion: false };
  let insight!: SchedulerInsight;
  const frontend = await startFrontend(config, silentLogger(), executionServices(config.execution, config.maxInlineBytes, silentLogger(), (_s, i) => (insight = i)));
  const workers = new LocalWorkers({ count: 1, schedulerAddress: `127.0.0.1:${frontend.port}`, dataDir }, silentLogger());
  workers.start();
  const ws = await makeRustExampleWorkspace();
  try {
    const flags = [...buildFlags({ remoteExecutor: frontend.port }), '--noremote_accept_cached', '--jobs=32', '--//rust/settings:pipelined_compilation=True'];
    await runBazel(ws, ['build', ...flags, '//...'], { timeoutMs: 900_000 }); // uploads the toolchain, warms the worker cache
    await runBazel(ws, ['clean']);
    const other: number[] = [];
    const stop = insight.observe((e) => {
      if (e.type === 'task-completed' && e.task.actionClass === 'other' && e.outcome.timings.executionMs !== undefined) other.push(e.outcome.timings.executionMs);
    });
    const t0 = Date.now();
    await runBazel(ws, ['build', ...flags, '//...'], { timeoutMs: 900_000 });
    const wallMs = Date.now() - t0;
    stop();
    const profile: RustProfile = {
      source: 'rules_rust_example/offline, pipelined, fusion off, one worker slot (each action alone), recorded by bench/record-rust-profile.ts',
      machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
      buildWallMs: wallMs,
      crates: insight.crateGraph().map((c) => ({ id: c.id, deps: c.deps.map((d) => ({ ...d })), rmetaMs: c.rmetaMs, fullMs: c.fullMs, parallelism: c.parallelism && Math.round(c.parallelism * 100) / 100 })),
      otherMs: other,
    };
    await fsp.writeFile(PROFILE_FILE, JSON.stringify(profile, null, 1) + '\n');
    console.log(`recorded ${profile.crates.length} crates in ${PROFILE_FILE} (build took ${wallMs} ms)`);
  } finally {
    await ws.cleanup();
    await workers.stop();
    await frontend.close();
    await fsp.rm(dataDir, { recursive: true, force: true });
    await release();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
