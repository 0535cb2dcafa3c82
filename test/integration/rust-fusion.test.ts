import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { encode, re, REv2 } from '../../src/proto';
import { RUST_EXAMPLE } from '../e2e/rust-example';
import { digestOf, ExecutionFixture, operations, responseOf, stageOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

const SYSROOT = execFileSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
const RUSTC = path.join(SYSROOT, 'bin/rustc');

type Tree = { [name: string]: string | Buffer | { exec: Buffer } | Tree };

/** Uploads a file tree; returns the root Directory and every subdirectory (already uploaded). */
async function uploadTree(f: ExecutionFixture, tree: Tree): Promise<REv2.IDirectory> {
  const dir: REv2.IDirectory = { files: [], directories: [] };
  for (const name of Object.keys(tree).sort()) {
    const v = tree[name];
    if (typeof v === 'string' || Buffer.isBuffer(v) || 'exec' in v) {
      const data = typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : (v.exec as Buffer);
      await f.upload(data);
      dir.files!.push({ name, digest: digestOf(data), isExecutable: !(typeof v === 'string' || Buffer.isBuffer(v)) });
    } else {
      const sub = encode(re.Directory, re.Directory.create((await uploadTree(f, v as Tree)) as REv2.Directory));
      await f.upload(sub);
      dir.directories!.push({ name, digest: digestOf(sub) });
    }
  }
  return dir;
}

interface Pair {
  meta: REv2.Digest;
  rlib: REv2.Digest;
  rmetaPath: string;
  rlibPath: string;
  argv: (kind: 'meta' | 'rlib') => string[];
  params: string;
}

/** A crate's RustcMetadata and Rustc actions, shaped as rules_rust makes them (same flags, param files named apart). */
async function cratePair(f: ExecutionFixture, wrapper: Buffer, name: string, source: string): Promise<Pair> {
  const params = ['src/lib.rs', `--crate-name=${name}`, '--crate-type=rlib', '--error-format=json', '--json=artifacts', '--emit=dep-info,link,metadata', '--out-dir=out', '--codegen=metadata=-h1', '--codegen=extra-filename=-h1', '--remap-path-prefix=${pwd}=.', '--edition=2021', `--sysroot=${SYSROOT}`].join('\n');
  const paramName = (kind: string) => `out/lib${name}-h1.${kind}-0.params`;
  const argv = (kind: 'meta' | 'rlib') => [
    'pw/process_wrapper', '--subst', 'pwd=${pwd}', '--rustc-output-format', 'rendered',
    ...(kind === 'meta' ? ['--rustc-quit-on-rmeta', 'true'] : []),
    '--', RUSTC, `@${paramName(kind === 'meta' ? 'rmeta' : 'rlib')}`,
  ];
  const rmetaPath = `out/lib${name}-h1.rmeta`;
  const rlibPath = `out/lib${name}-h1.rlib`;
  const action = async (kind: 'meta' | 'rlib') => {
    const inputRoot = await uploadTree(f, { pw: { process_wrapper: { exec: wrapper } }, src: { 'lib.rs': source }, out: { [path.basename(paramName(kind === 'meta' ? 'rmeta' : 'rlib'))]: params } });
    return f.action({ args: argv(kind), inputRoot, outputFiles: [kind === 'meta' ? rmetaPath : rlibPath], env: { PATH: '/usr/local/bin:/usr/bin:/bin' } });
  };
  return { meta: await action('meta'), rlib: await action('rlib'), rmetaPath, rlibPath, argv, params };
}

describe('fused RustcMetadata/Rustc pairs with real rustc', () => {
  let f: ExecutionFixture;
  let scratch: string;
  let wrapper: Buffer;

  before(async () => {
    scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'rust-fusion-'));
    execFileSync(RUSTC, ['--edition=2021', '-Copt-level=1', '-Cstrip=symbols', '-Cdebuginfo=0', '-o', path.join(scratch, 'process_wrapper'), path.join(RUST_EXAMPLE, 'rust/process_wrapper/process_wrapper.rs')]);
    wrapper = await fsp.readFile(path.join(scratch, 'process_wrapper'));
    f = await startExecutionFixture({ rustFusion: true });
    f.startWorker(['--slots', '2']);
    await waitForWorkers(f, 1);
  });
  after(async () => {
    await f.close();
    await fsp.rm(scratch, { recursive: true, force: true });
  });

  const md = (invocation: string) => {
    const m = new Metadata();
    m.set('build.bazel.remote.execution.v2.requestmetadata-bin', Buffer.from(re.RequestMetadata.encode({ toolInvocationId: invocation }).finish()));
    return m;
  };
  const run = async (digest: REv2.Digest, invocation: string) => responseOf((await operations(f.execute({ actionDigest: digest, inlineStderr: true }, md(invocation)))).at(-1)!);
  const paths = (r: REv2.IExecuteResponse) => (r.result?.outputFiles ?? []).map((o) => o.path);
  const runs = (invocation: string) => f.insight.builds().find((b) => b.invocationId === invocation);

  /** What running the command on its own, here, produces: the reference for byte-identical outputs. */
  async function reference(p: Pair, kind: 'meta' | 'rlib', source: string): Promise<Buffer> {
    const dir = await fsp.mkdtemp(path.join(scratch, 'ref-'));
    await fsp.mkdir(path.join(dir, 'pw'));
    await fsp.mkdir(path.join(dir, 'src'));
    await fsp.mkdir(path.join(dir, 'out'));
    await fsp.writeFile(path.join(dir, 'pw/process_wrapper'), wrapper, { mode: 0o755 });
    await fsp.writeFile(path.join(dir, 'src/lib.rs'), source);
    const argv = p.argv(kind);
    await fsp.writeFile(path.join(dir, argv.at(-1)!.slice(1)), p.params);
    execFileSync(path.join(dir, argv[0]), argv.slice(1), { cwd: dir, env: { PATH: '/usr/local/bin:/usr/bin:/bin' } });
    return fsp.readFile(path.join(dir, kind === 'meta' ? p.rmetaPath : p.rlibPath));
  }

  const SRC = (n: number) => `pub fn answer() -> u32 { ${n} }\npub struct S${n}(pub u64);\n`;

  it('metadata first: the Rustc action that comes later is answered by the same rustc run', async () => {
    const p = await cratePair(f, wrapper, 'first_meta', SRC(1));
    const meta = await run(p.meta, 'inv-meta-first');
    assert.equal(meta.result?.exitCode, 0, meta.result?.stderrRaw?.toString());
    assert.deepEqual(paths(meta), [p.rmetaPath], 'only the declared .rmeta');
    const rlib = await run(p.rlib, 'inv-meta-first');
    assert.equal(rlib.result?.exitCode, 0);
    assert.deepEqual(paths(rlib), [p.rlibPath], 'only the declared .rlib');
    assert.equal(runs('inv-meta-first')?.rustcRuns, 1, 'one rustc run for the pair');
    assert.equal(runs('inv-meta-first')?.fusedPairs, 1);
    assert.deepEqual(meta.result!.outputFiles![0].digest, digestOf(await reference(p, 'meta', SRC(1))), '.rmeta byte-identical to a separate run');
    assert.deepEqual(rlib.result!.outputFiles![0].digest, digestOf(await reference(p, 'rlib', SRC(1))), '.rlib byte-identical to a separate run');
    // Each result is stored under its own action digest.
    assert.deepEqual((await f.clients.ac.getActionResult({ actionDigest: p.meta })).outputFiles!.map((o) => o.path), [p.rmetaPath]);
    assert.deepEqual((await f.clients.ac.getActionResult({ actionDigest: p.rlib })).outputFiles!.map((o) => o.path), [p.rlibPath]);
  });

  it('rlib first: a metadata action arriving while rustc runs joins it and completes at the .rmeta', async () => {
    const p = await cratePair(f, wrapper, 'first_rlib', SRC(2));
    const rlibStream = f.execute({ actionDigest: p.rlib }, md('inv-rlib-first'));
    const rlibOps = operations(rlibStream);
    await new Promise<void>((resolve) => rlibStream.on('data', (op) => stageOf(op) === 'EXECUTING' && resolve()));
    const meta = await run(p.meta, 'inv-rlib-first');
    const rlib = responseOf((await rlibOps).at(-1)!);
    assert.deepEqual([meta.result?.exitCode, rlib.result?.exitCode], [0, 0]);
    assert.deepEqual([paths(meta), paths(rlib)], [[p.rmetaPath], [p.rlibPath]]);
    assert.equal(runs('inv-rlib-first')?.rustcRuns, 1);
  });

  it('both at once: one run serves both', async () => {
    const p = await cratePair(f, wrapper, 'both_at_once', SRC(3));
    const [meta, rlib] = await Promise.all([run(p.meta, 'inv-both'), run(p.rlib, 'inv-both')]);
    assert.deepEqual([paths(meta), paths(rlib)], [[p.rmetaPath], [p.rlibPath]]);
    assert.equal(runs('inv-both')?.rustcRuns, 1);
    assert.deepEqual(rlib.result!.outputFiles![0].digest, digestOf(await reference(p, 'rlib', SRC(3))));
  });

  it('a compile error before the .rmeta fails both actions with the same diagnostics', async () => {
    const bad = 'pub fn broken() -> u32 { "not a number" }\n';
    const p = await cratePair(f, wrapper, 'broken', bad);
    const [meta, rlib] = await Promise.all([run(p.meta, 'inv-error'), run(p.rlib, 'inv-error')]);
    assert.notEqual(meta.result?.exitCode, 0);
    assert.notEqual(rlib.result?.exitCode, 0);
    assert.match(meta.result!.stderrRaw!.toString(), /mismatched types/);
    assert.deepEqual(meta.result!.stderrDigest, rlib.result!.stderrDigest, 'the same diagnostics');
    assert.equal(runs('inv-error')?.rustcRuns, 1);
    assert.equal(runs('inv-error')?.fusedPairs, 1);
  });

  it('a metadata action whose partner never comes still gets a correct .rmeta', async () => {
    const p = await cratePair(f, wrapper, 'lonely', SRC(5));
    const meta = await run(p.meta, 'inv-lonely');
    assert.equal(meta.result?.exitCode, 0);
    assert.deepEqual(paths(meta), [p.rmetaPath]);
    assert.deepEqual(meta.result!.outputFiles![0].digest, digestOf(await reference(p, 'meta', SRC(5))));
    assert.equal(runs('inv-lonely')?.fusedPairs, 0, 'nothing was fused');
  });
});
