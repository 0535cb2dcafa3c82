import * as path from 'node:path';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { canonicalIndex } from './bitcode/module-paths';
import { BackendJob, JobsFile } from './jobs-file';

/** One file of a backend action's input root (flat: every name is a plain file name). */
export interface BackendInput {
  name: string;
  digest: Digest;
  /** Where the bytes come from: a local file, or memory (the rewritten summary index). */
  source: { file: string } | { data: Buffer };
}

/** A backend job as a self-contained, cacheable action. */
export interface BackendAction {
  /** argv inside the input root: `clang-N` from the worker's PATH, then the job's args on canonical names. */
  argv: string[];
  inputs: BackendInput[];
  /** The action's output files and where each goes on this machine (lld's path). */
  outputs: { name: string; local: string }[];
  /** Only workers advertising this clang major take the job. */
  platform: { name: string; value: string }[];
}

export interface BackendActionContext {
  /** e.g. "clang-22" (what the worker runs) and 22 (the platform property). */
  compiler: { command: string; major: number };
  fn: DigestFunction;
  /** The distributor's cwd, where lld's relative paths start. */
  cwd: string;
  digestFile(file: string): Promise<Digest>;
  readFile(file: string): Promise<Buffer>;
}

const INDEX_NAME = 'index.thinlto.bc';

/**
 * Maps a backend job to an action whose digest depends only on what the compile reads. lld names everything after
 * its own PID and the link's directories (`app.rcgu.1.4711.native.o`, `libfoo.rlib(foo.o at 1234).57.1267.o`), and
 * the summary index holds those absolute paths to open the imported modules by. So every input is renamed after its
 * content (`<sha256>.o`), the index's module paths are rewritten to those names, outputs become `out0.o`…, and the
 * arguments follow. An unchanged module with unchanged imports is then the same action on the next link: a cache hit.
 */
export async function backendAction(common: JobsFile['common'], job: BackendJob, ctx: BackendActionContext): Promise<BackendAction> {
  const abs = (p: string) => path.resolve(ctx.cwd, p);
  const indexPath = abs(job.inputs[1]);
  const names = new Map<string, string>(); // absolute local path -> canonical name
  const taken = new Set<string>([INDEX_NAME]);
  const inputs: BackendInput[] = [];
  for (const file of [...job.inputs, ...common.inputs]) {
    const local = abs(file);
    if (local === indexPath || names.has(local)) continue;
    const digest = await ctx.digestFile(local);
    // Two inputs with equal bytes still need distinct names: the index keys modules by path.
    let name = `${digest.hash}${extension(local)}`;
    for (let n = 1; taken.has(name); n++) name = `${digest.hash}-${n}${extension(local)}`;
    taken.add(name);
    names.set(local, name);
    inputs.push({ name, digest, source: { file: local } });
  }
  const index = await ctx.readFile(indexPath);
  const rewritten = canonicalIndex(index, (module) => {
    const name = names.get(abs(module));
    if (!name) throw new Error(`the summary index ${job.inputs[1]} names module ${module}, which is not among the job's inputs`);
    return name;
  });
  names.set(indexPath, INDEX_NAME);
  inputs.push({ name: INDEX_NAME, digest: Digest.compute(rewritten, ctx.fn), source: { data: rewritten } });
  const outputs = job.outputs.map((local, i) => ({ name: `out${i}${extension(local)}`, local: abs(local) }));
  for (const o of outputs) names.set(o.local, o.name);
  const rename = (arg: string) => {
    const whole = names.get(abs(arg));
    if (whole) return whole;
    const eq = /^(-[^=]+=)(.+)$/.exec(arg);
    const value = eq && names.get(abs(eq[2]));
    return value ? eq![1] + value : arg;
  };
  return {
    argv: [ctx.compiler.command, ...[...common.args.slice(1), ...job.args].map(rename)],
    inputs: inputs.sort((a, b) => (a.name < b.name ? -1 : 1)),
    outputs,
    platform: [{ name: 'clang', value: String(ctx.compiler.major) }],
  };
}

function extension(file: string): string {
  const ext = path.extname(file);
  return /^\.[A-Za-z0-9_]{1,8}$/.test(ext) ? ext : '';
}
