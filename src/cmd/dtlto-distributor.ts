#!/usr/bin/env node
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CallLog } from '../client/call-log';
import { Reachability } from '../client/reachability';
import { RemoteClient } from '../client/remote-client';
import { ClientSettings, settingsFromEnv, SettingsError } from '../client/settings';
import { Digest } from '../digest/digest';
import { SHA256 } from '../digest/digest-function';
import { distribute, JobReport } from '../dtlto/distribute';
import { FallbackJobRunner } from '../dtlto/fallback-job-runner';
import { JobRunner } from '../dtlto/job-runner';
import { jobLabel, JobsFile, JobsFileError, parseJobsFile } from '../dtlto/jobs-file';
import { Limiter } from '../dtlto/limiter';
import { LocalJobRunner } from '../dtlto/local-job-runner';
import { ReachabilityHealth } from '../dtlto/reachability-health';
import { RemoteJobRunner } from '../dtlto/remote-job-runner';
import { probeClangMajor } from '../util/clang-version';

const PREFIX = 'rustexec-dtlto';
/** Jobs in flight on the backend at once: the scheduler queues them, so this only bounds local memory and streams. */
const REMOTE_CONCURRENCY = Number(process.env.RUSTEXEC_DTLTO_JOBS) || 256;

/**
 * lld's ThinLTO distributor (`-fthinlto-distributor=rustexec-dtlto`): lld runs `rustexec-dtlto [ARGS...] JOBS.json`
 * and links the native objects once it exits 0. With RUSTEXEC_REMOTE each backend compile is an action on the pool;
 * without it, the jobs run here, one per core.
 */
async function main(): Promise<number> {
  const file = process.argv.at(-1);
  if (process.argv.length < 3 || !file) {
    process.stderr.write(`usage: ${PREFIX} [ARGS...] JOBS.json  (lld runs it: -fthinlto-distributor=${PREFIX})\n`);
    return 2;
  }
  let settings: ClientSettings | undefined;
  let jobs: JobsFile;
  try {
    settings = settingsFromEnv();
    jobs = parseJobsFile(await fsp.readFile(file, 'utf8'), file);
  } catch (err) {
    if (!(err instanceof SettingsError || err instanceof JobsFileError || (err as NodeJS.ErrnoException).code === 'ENOENT')) throw err;
    process.stderr.write(`${PREFIX}: ${(err as Error).message}\n`);
    return 2;
  }
  const cwd = process.cwd();
  const local = new LocalJobRunner(jobs.common, cwd, new Limiter(os.availableParallelism()));
  const log = new CallLog(settings?.logFile);
  let client: RemoteClient | undefined;
  let runner: JobRunner = local;
  if (settings) {
    const major = await probeClangMajor(jobs.common.args[0]);
    const digests = new Map<string, Promise<Digest>>();
    client = await RemoteClient.connect(settings);
    const ctx = {
      compiler: { command: `clang-${major}`, major },
      fn: SHA256,
      cwd,
      // An imported module is an input of many jobs: hash each file once per link.
      digestFile: (f: string) => {
        let d = digests.get(f);
        if (!d) digests.set(f, (d = fsp.readFile(f).then((b) => Digest.compute(b, SHA256))));
        return d;
      },
      readFile: (f: string) => fsp.readFile(f),
    };
    const caller = { toolName: PREFIX, invocationId: process.env.RUSTEXEC_INVOCATION_ID || `dtlto-${path.basename(jobs.common.linkerOutput) || 'link'}-${process.pid}` };
    const salt = process.env.RUSTEXEC_SALT ? Buffer.from(process.env.RUSTEXEC_SALT) : undefined;
    const remote = new RemoteJobRunner(client, jobs.common, ctx, caller, salt);
    const health = new ReachabilityHealth(new Reachability(settings.cacheDir, settings.address));
    runner = new FallbackJobRunner(remote, local, settings.fallback, health, (m) => process.stderr.write(`${PREFIX}: ${m}\n`), `${settings.tls ? 'grpcs' : 'grpc'}://${settings.address}`);
  }
  const onJob = async (r: JobReport) => {
    // A successful compile's warnings still reach the user, as they would from an in-process backend.
    if (r.outcome.exitCode === 0 && (r.outcome.stdout || r.outcome.stderr)) process.stderr.write(r.outcome.stdout + r.outcome.stderr);
    const { remote, reason, exitCode, action, timings } = r.outcome;
    await log.append({ crate: jobLabel(r.job), kind: 'thinlto-backend', remote, ms: r.ms, start: r.start, end: r.start + r.ms, module: r.job.inputs[0], exitCode, ...(reason ? { reason } : {}), ...(action ? { action } : {}), ...(timings ? { worker: timings.worker, timings } : {}) });
  };
  try {
    const result = await distribute(jobs.jobs, runner, settings ? REMOTE_CONCURRENCY : jobs.jobs.length || 1, onJob);
    if (result.ok) return 0;
    if ('failed' in result) {
      const { job, outcome } = result.failed;
      process.stderr.write(`${PREFIX}: the ThinLTO backend compile of ${job.inputs[0]} failed (exit code ${outcome.exitCode}${outcome.remote === 'local' ? ', run locally' : `, ${outcome.remote} remotely`}):\n${outcome.stdout}${outcome.stderr}`);
    } else {
      process.stderr.write(`${PREFIX}: ${result.error.message}\n`);
    }
    return 1;
  } finally {
    client?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${PREFIX}: internal error: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
