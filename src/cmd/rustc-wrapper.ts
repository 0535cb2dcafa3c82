#!/usr/bin/env node
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { CallLog, CallRecord } from '../client/call-log';
import { InputFileError } from '../client/file-digests';
import { Reachability } from '../client/reachability';
import { isUnreachable, QueueTimeoutError, RemoteClient } from '../client/remote-client';
import { ClientSettings, settingsFromEnv, SettingsError } from '../client/settings';
import { SHA256 } from '../digest/digest-function';
import { buildCompileAction } from '../cargo/compile-action';
import { DepCrate, dependencyClosure, writeDependencyRecord } from '../cargo/dependency-record';
import { PipelinedStderr } from '../cargo/pipelined-stderr';
import { runRemote } from '../cargo/remote-compile';
import { compileKind, expectedOutputs, INCREMENTAL_REASON, parseInvocation, RustcInvocation } from '../cargo/rustc-invocation';
import { findSysroot, toolchainFiles } from '../cargo/toolchain';
import { hashToolchainOnce, uploadToolchainOnce } from '../cargo/toolchain-once';

const PREFIX = 'rustexec-rustc';

/**
 * RUSTC_WRAPPER: Cargo runs `rustexec-rustc RUSTC ARGS...`. Compiles run on the backend (RUSTEXEC_REMOTE); queries,
 * incremental compiles and shapes the remote path does not model run the local rustc unchanged.
 */
async function main(): Promise<number> {
  const [rustc, ...args] = process.argv.slice(2);
  if (!rustc) {
    process.stderr.write(`usage: RUSTC_WRAPPER=${PREFIX} cargo build  (or: ${PREFIX} RUSTC ARGS...)\n`);
    return 2;
  }
  // The launcher's clock reading: when Cargo started this compile (Node's start-up under load takes seconds).
  const spawned = Number(process.env.RUSTEXEC_SPAWNED_AT);
  const start = Number.isSafeInteger(spawned) && spawned > 0 && spawned <= Date.now() ? spawned : Date.now();
  const cwd = process.cwd();
  let settings: ClientSettings | undefined;
  try {
    settings = settingsFromEnv();
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    process.stderr.write(`${PREFIX}: ${err.message}\n`);
    return 2;
  }
  const parsed = parseInvocation(rustc, args, cwd);
  if (!settings) return runLocal(rustc, args);
  const log = new CallLog(settings.logFile);
  if ('local' in parsed) {
    if (/query|probe/.test(parsed.local)) return runLocal(rustc, args);
    const code = await runLocal(rustc, args);
    await log.append({ crate: crateNameOf(args), kind: 'other', remote: 'local' as const, ms: Date.now() - start, reason: parsed.local, start, end: Date.now(), exitCode: code });
    return code;
  }
  const inv = parsed;
  const record = (r: { remote: CallRecord['remote']; [field: string]: unknown }) => log.append({ crate: inv.crateName, kind: compileKind(inv), ms: Date.now() - start, start, end: Date.now(), ...r });
  if (inv.incremental) {
    await recordDependencies(inv, (await dependencyClosure(inv)).deps);
    const code = await runLocal(rustc, args);
    await record({ remote: 'local', reason: INCREMENTAL_REASON, exitCode: code });
    return code;
  }
  const reach = new Reachability(settings.cacheDir, settings.address);
  const idle = new Reachability(settings.cacheDir, settings.address, undefined, undefined, 'no-worker');
  const stderr = new PipelinedStderr((s) => process.stderr.write(s), expectedOutputs(inv).rmeta ?? '');
  let client: RemoteClient | undefined;
  try {
    if (await reach.recentlyUnreachable()) throw new RecentlyUnreachable(`the backend at ${settings.address} was unreachable moments ago (an earlier compile of this build found out)`);
    const toolchain = await toolchainFiles(await findSysroot(rustc), inv.target);
    const digests = await hashToolchainOnce(path.join(settings.cacheDir, 'file-digests'), SHA256, toolchain.files);
    const ca = await buildCompileAction(inv, cwd, process.env, toolchain, digests);
    await digests.save();
    // Before the .rmeta is announced: Cargo may start a dependent right then, and it reads this record.
    await recordDependencies(inv, ca.closure);
    client = await RemoteClient.connect(settings);
    const caller = { toolName: PREFIX, invocationId: process.env.RUSTEXEC_INVOCATION_ID || `cargo-${process.ppid}`, targetId: inv.crateName };
    const connected = client;
    const toolchainSet = new Set(toolchain.files);
    const onMiss = async () => {
      if (await idle.recentlyUnreachable()) throw new RecentlyNoWorker(`the backend at ${settings!.address} had no worker for a compile of this build moments ago (RUSTEXEC_QUEUE_TIMEOUT_MS), so this cache miss does not queue`);
      await uploadToolchainOnce(connected, settings!.cacheDir, ca.blobs.filter((b) => 'file' in b && toolchainSet.has(b.file)));
    };
    const outcome = await runRemote(client, caller, ca, stderr, (s) => process.stdout.write(s), onMiss);
    await reach.markReachable();
    if (outcome.remote === 'executed') await idle.markReachable();
    await record({ remote: outcome.remote, exitCode: outcome.exitCode, rmetaAt: outcome.rmetaAt, uploaded: outcome.uploaded, inputs: ca.inputFiles, action: ca.full.digest.toString(), closureComplete: ca.closureComplete, externs: inv.externs.map((e) => e.name) });
    return outcome.exitCode;
  } catch (err) {
    const skipped = err instanceof RecentlyUnreachable || err instanceof RecentlyNoWorker;
    const why = describe(err, settings);
    const fallback = settings.fallback === 'local' ? 'compiling locally (RUSTEXEC_FALLBACK=local)' : 'failing (RUSTEXEC_FALLBACK=fail)';
    const label = settings.fallback === 'local' ? 'warning' : 'error';
    if (!skipped && isUnreachable(err)) {
      // One warning per outage for the whole build: the first process to notice prints it, the others stay quiet.
      if (await reach.markUnreachable().catch(() => true)) {
        process.stderr.write(`${PREFIX}: ${label}: ${why}; ${fallback}${settings.fallback === 'local' ? '; the rest of this build compiles locally without repeating this warning' : ''}\n`);
      }
    } else if (!skipped && err instanceof QueueTimeoutError) {
      // As for an outage: one warning per build; the other compiles still take cache hits but compile misses locally.
      if (await idle.markUnreachable().catch(() => true)) {
        process.stderr.write(`${PREFIX}: ${label}: ${why}; ${fallback}${settings.fallback === 'local' ? '; the rest of this build compiles cache misses locally without repeating this warning' : ''}\n`);
      } else if (settings.fallback === 'fail') {
        process.stderr.write(`${PREFIX}: ${inv.crateName}: ${why}; ${fallback}\n`);
      }
    } else if (!skipped) {
      process.stderr.write(`${PREFIX}: ${inv.crateName}: ${why}; ${fallback}\n`);
    }
    if (settings.fallback === 'fail') {
      if (skipped) process.stderr.write(`${PREFIX}: ${inv.crateName}: ${why}; ${fallback}\n`);
      await record({ remote: 'local', reason: why, exitCode: 1, failed: true });
      return 1;
    }
    await recordDependencies(inv, (await dependencyClosure(inv)).deps);
    const code = await runLocal(rustc, args, stderr);
    await record({ remote: 'local', reason: why, exitCode: code });
    return code;
  } finally {
    client?.close();
  }
}

async function recordDependencies(inv: RustcInvocation, closure: DepCrate[]): Promise<void> {
  const out = expectedOutputs(inv);
  const primary = out.rlib ?? out.rmeta ?? (inv.crateTypes.includes('proc-macro') ? out.linked : undefined);
  if (primary) await writeDependencyRecord(primary.replace(/\.(rlib|rmeta|so)$/, ''), closure);
}

/** Another process of this build found the backend unreachable moments ago: go local without trying. */
class RecentlyUnreachable extends Error {}

/** Another process of this build waited for a worker in vain moments ago: a cache miss goes local without queueing. */
class RecentlyNoWorker extends Error {}

function describe(err: unknown, settings: ClientSettings): string {
  if (err instanceof InputFileError || err instanceof RecentlyUnreachable || err instanceof RecentlyNoWorker) return err.message;
  if (err instanceof QueueTimeoutError) return `the backend at ${settings.tls ? 'grpcs' : 'grpc'}://${settings.address} queued the compile but ${err.message}`;
  // grpc-js ends connection errors with an empty "Resolution note: ".
  if (isUnreachable(err)) return `the backend at ${settings.tls ? 'grpcs' : 'grpc'}://${settings.address} is unreachable (${(err as Error).message.replace(/[. ]*Resolution note: *$/, '')})`;
  return `remote compile failed: ${(err as Error).message}`;
}

/**
 * Runs the local rustc with the same arguments. After a remote run already printed part of stderr (the .rmeta was
 * announced, then the backend was lost), the local run's identical beginning is skipped so Cargo sees each line once.
 */
function runLocal(rustc: string, args: string[], printed?: PipelinedStderr): Promise<number> {
  return new Promise((resolve, reject) => {
    const resumed = printed?.rmetaAnnounced;
    const child = spawn(rustc, args, { stdio: ['inherit', 'inherit', resumed ? 'pipe' : 'inherit'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (resumed) printed!.final(err);
      resolve(code ?? (signal ? 128 + 9 : 1));
    });
  });
}

function crateNameOf(args: string[]): string {
  const i = args.indexOf('--crate-name');
  return i >= 0 ? args[i + 1] ?? '' : '';
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${PREFIX}: internal error: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
