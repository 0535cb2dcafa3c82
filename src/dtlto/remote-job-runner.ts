import { UploadBlob } from '../client/input-tree';
import { CallerInfo, RemoteClient, writeAtomically } from '../client/remote-client';
import { Digest } from '../digest/digest';
import { REv2 } from '../proto';
import { backendActionBlobs } from './action-blobs';
import { BackendAction, backendAction, BackendActionContext } from './backend-action';
import { JobInfrastructureError, JobOutcome, JobRunner } from './job-runner';
import { jobTimings } from './job-timings';
import { BackendJob, jobLabel, JobsFile } from './jobs-file';

/**
 * Runs a job as its canonical REAPI action (backendAction): uploads what the CAS lacks, Executes (the server answers
 * from its action cache when it can), and writes the native object to lld's path. Imported modules are shared by
 * many jobs of one link; each blob is uploaded once per link, the first job needing it doing the upload.
 */
export class RemoteJobRunner implements JobRunner {
  private readonly uploads = new Map<string, Promise<unknown>>();

  constructor(
    private readonly client: RemoteClient,
    private readonly common: JobsFile['common'],
    private readonly ctx: BackendActionContext,
    private readonly caller: CallerInfo,
    private readonly salt?: Buffer,
  ) {}

  async run(job: BackendJob): Promise<JobOutcome> {
    const action = await backendAction(this.common, job, this.ctx);
    const { digest, blobs } = backendActionBlobs(action, this.client.fn, this.salt);
    await this.upload(blobs);
    const response = await this.client.execute(digest, { ...this.caller, targetId: jobLabel(job), mnemonic: 'ThinLtoBackend' });
    const result = response.result;
    if ((response.status?.code ?? 0) !== 0 || !result) {
      throw new JobInfrastructureError(`the backend could not run ${jobLabel(job)} (action ${digest}): ${response.status?.message || 'no result'}`, response.status?.code ?? undefined);
    }
    const toLocal = localNames(action);
    const stdout = toLocal(await this.text(result.stdoutRaw, result.stdoutDigest));
    const stderr = toLocal(await this.text(result.stderrRaw, result.stderrDigest));
    const exitCode = result.exitCode ?? 0;
    if (exitCode === 0) await this.writeOutputs(action, result, digest);
    return { exitCode, stdout, stderr, remote: response.cachedResult ? 'cached' : 'executed', action: digest.toString(), timings: jobTimings(result.executionMetadata) };
  }

  private async upload(blobs: UploadBlob[]): Promise<void> {
    const mine = blobs.filter((b) => !this.uploads.has(b.digest.key));
    const waits = blobs.filter((b) => this.uploads.has(b.digest.key)).map((b) => this.uploads.get(b.digest.key)!);
    if (mine.length) {
      const p = this.client.upload(mine);
      p.catch(() => undefined); // awaited below and by the other jobs that share these blobs
      for (const b of mine) this.uploads.set(b.digest.key, p);
      waits.push(p);
    }
    await Promise.all(waits);
  }

  private async writeOutputs(action: BackendAction, result: REv2.IActionResult, digest: Digest): Promise<void> {
    const files = new Map((result.outputFiles ?? []).map((f) => [f.path ?? '', f]));
    await Promise.all(
      action.outputs.map(async (o) => {
        const f = files.get(o.name);
        if (!f) throw new JobInfrastructureError(`the backend job (action ${digest}) succeeded but did not produce ${o.name} (for ${o.local})`);
        if (f.contents?.length) await writeAtomically(o.local, Buffer.from(f.contents), false);
        else await this.client.download(Digest.fromProto(f.digest, this.client.fn, `output ${o.name}`), o.local, false);
      }),
    );
  }

  private async text(raw: Uint8Array | null | undefined, digest: REv2.IDigest | null | undefined): Promise<string> {
    if (raw?.length) return Buffer.from(raw).toString('utf8');
    if (!digest?.hash || Number(digest.sizeBytes ?? 0) === 0) return '';
    return (await this.client.read(Digest.fromProto(digest, this.client.fn, 'stdout/stderr digest'))).toString('utf8');
  }
}

/** Diagnostics name the action's canonical files (`<sha256>.o`, `out0.o`): show the paths the user knows instead. */
function localNames(action: BackendAction): (text: string) => string {
  const pairs: [string, string][] = [
    ...action.inputs.flatMap((i): [string, string][] => ('file' in i.source ? [[i.name, i.source.file]] : [])),
    ...action.outputs.map((o): [string, string] => [o.name, o.local]),
  ];
  if (!pairs.length) return (t) => t;
  const byName = new Map(pairs);
  const pattern = new RegExp(`(?<![\\w.-])(${pairs.map(([n]) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\w.-])`, 'g');
  return (text) => text.replace(pattern, (n) => byName.get(n) ?? n);
}
