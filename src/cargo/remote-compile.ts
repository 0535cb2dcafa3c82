import { Digest } from '../digest/digest';
import { Code, StatusError } from '../grpc/status-error';
import { CallerInfo, RemoteClient, writeAtomically } from '../client/remote-client';
import { REv2 } from '../proto';
import { ActionBlobs, CompileAction } from './compile-action';
import { PipelinedStderr } from './pipelined-stderr';
import { SANDBOX_FAILURE_EXIT } from './sandbox-command';

/** How a remote compile ended: rustc's exit code, and whether the pool ran it or the cache answered. */
export interface RemoteOutcome {
  remote: 'executed' | 'cached';
  exitCode: number;
  /** When the .rmeta was written locally and announced to Cargo (pipelined libraries). */
  rmetaAt?: number;
  uploaded: number;
}

/** The backend could not run the compile (not a compile error): the caller falls back or fails. */
export class RemoteFailure extends StatusError {}

/**
 * Runs a compile's action(s) on the backend and reproduces rustc's effects locally: output files written atomically,
 * stdout and stderr printed exactly, rustc's exit code returned. A library's .rmeta is written and announced as soon
 * as the metadata action completes, while the full compile goes on (Cargo then starts the dependents).
 */
export async function runRemote(client: RemoteClient, caller: CallerInfo, ca: CompileAction, stderr: PipelinedStderr, stdout: (s: string) => void, onMiss?: () => Promise<void>): Promise<RemoteOutcome> {
  const cached = await client.getActionResult(ca.full.digest, caller);
  if (cached && cached.exitCode === 0) {
    await writeOutputs(client, ca, ca.full, cached, new Set());
    stdout(await textOf(client, cached.stdoutRaw, cached.stdoutDigest));
    stderr.final(ca.paths.toLocal(await textOf(client, cached.stderrRaw, cached.stderrDigest)));
    return { remote: 'cached', exitCode: 0, uploaded: 0 };
  }
  // On a miss (only then does the pool need the inputs): the caller may upload shared blobs once, or refuse to execute.
  await onMiss?.();
  const uploaded = await client.upload(ca.blobs);
  const full = client.execute(ca.full.digest, caller);
  full.catch(() => undefined); // awaited below; the metadata branch may throw first
  let rmetaAt: number | undefined;
  const written = new Set<string>();
  if (ca.metadata) {
    const meta = client.execute(ca.metadata.digest, { ...caller, mnemonic: 'RustcMetadata' });
    meta.catch(() => undefined);
    const first = await Promise.race([meta.then((r) => ({ which: 'meta' as const, r })), full.then((r) => ({ which: 'full' as const, r }))]);
    if (first.which === 'meta') {
      const result = usable(first.r);
      if (result && result.exitCode === 0) {
        const rmetaRoot = [...ca.metadata.outputs.keys()].find((p) => p.endsWith('.rmeta'))!;
        const file = result.outputFiles.find((f) => f.path === rmetaRoot);
        if (file) {
          await writeOne(client, ca, ca.metadata, file, written);
          stderr.early(ca.paths.toLocal(await textOf(client, result.stderrRaw, result.stderrDigest)));
          rmetaAt = Date.now();
        }
      }
    }
  }
  const response = await full;
  const result = usable(response);
  if (!result) throw new RemoteFailure(response.status?.code || Code.INTERNAL, `the backend could not run the compile: ${response.status?.message || 'no result'}`);
  const errText = ca.paths.toLocal(await textOf(client, result.stderrRaw, result.stderrDigest));
  if (result.exitCode === SANDBOX_FAILURE_EXIT || (result.exitCode !== 0 && errText.startsWith('bwrap: '))) {
    throw new RemoteFailure(Code.FAILED_PRECONDITION, `the worker could not sandbox rustc: ${errText.trim()}`);
  }
  if (result.exitCode === 0) await writeOutputs(client, ca, ca.full, result, written);
  stdout(await textOf(client, result.stdoutRaw, result.stdoutDigest));
  stderr.final(errText);
  return { remote: response.cachedResult ? 'cached' : 'executed', exitCode: result.exitCode, rmetaAt, uploaded };
}

function usable(r: REv2.ExecuteResponse): REv2.ActionResult | undefined {
  if (r.status && r.status.code !== 0) return undefined;
  return (r.result as REv2.ActionResult | null) ?? undefined;
}

/** Writes every declared output of a successful result; a missing one means the run was not what rustc does here. */
async function writeOutputs(client: RemoteClient, ca: CompileAction, a: ActionBlobs, result: REv2.IActionResult, written: Set<string>): Promise<void> {
  const files = result.outputFiles ?? [];
  for (const rootPath of a.outputs.keys()) {
    if (!files.some((f) => f.path === rootPath)) throw new RemoteFailure(Code.DATA_LOSS, `the remote compile succeeded but did not produce /${rootPath}`);
  }
  await Promise.all(files.map((f) => writeOne(client, ca, a, f, written)));
}

async function writeOne(client: RemoteClient, ca: CompileAction, a: ActionBlobs, f: REv2.IOutputFile, written: Set<string>): Promise<void> {
  const local = a.outputs.get(f.path ?? '');
  if (!local || written.has(local)) return;
  const digest = Digest.fromProto(f.digest, client.fn, `output ${f.path}`);
  if (local.endsWith('.d') && !ca.paths.identity) {
    // Dep-info lists the files rustc read, at the paths the action saw: Cargo needs the local ones.
    await writeAtomically(local, Buffer.from(ca.paths.toLocal((await client.read(digest)).toString('utf8'))), false);
  } else if (f.contents?.length) {
    await writeAtomically(local, Buffer.from(f.contents), !!f.isExecutable);
  } else {
    await client.download(digest, local, !!f.isExecutable);
  }
  written.add(local);
}

async function textOf(client: RemoteClient, raw: Uint8Array | null | undefined, digest: REv2.IDigest | null | undefined): Promise<string> {
  if (raw?.length) return Buffer.from(raw).toString('utf8');
  if (!digest?.hash) return '';
  return (await client.read(Digest.fromProto(digest, client.fn, 'stdout/stderr digest'))).toString('utf8');
}
