import assert from 'node:assert/strict';
import { ServiceError, status } from '@grpc/grpc-js';
import Long from 'long';
import { after, before, describe, it } from 'node:test';
import { Code } from '../../src/grpc/status-error';
import { encode, re, REv2 } from '../../src/proto';
import { digestOf, ExecutionFixture, operations, responseOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

const sh = (script: string) => ['/bin/sh', '-c', script];
const seconds = (t: { seconds?: Long | number | string | null } | null | undefined) => Long.fromValue(t?.seconds ?? 0).toNumber();
const props = (mode: number | undefined, sec?: number, nanos = 0): REv2.INodeProperties => ({
  ...(mode !== undefined && { unixMode: { value: mode } }),
  ...(sec !== undefined && { mtime: { seconds: Long.fromNumber(sec), nanos } }),
});

/** REAPI 2.1+ outputs (output_paths, output_node_properties) and NodeProperties on inputs, through a real worker. */
describe('output_paths and NodeProperties with a real worker', () => {
  let f: ExecutionFixture;
  before(async () => {
    f = await startExecutionFixture();
    f.startWorker(['--slots', '2']);
    await waitForWorkers(f, 1);
  });
  after(() => f.close());

  const run = async (spec: Parameters<ExecutionFixture['action']>[0]) => responseOf((await operations(f.execute({ actionDigest: await f.action(spec) }))).at(-1)!);
  const readBlob = async (d: REv2.IDigest) => f.clients.byteStream.read(`blobs/${d.hash}/${Long.fromValue(d.sizeBytes ?? 0)}`);
  const refused = async (spec: Parameters<ExecutionFixture['action']>[0], message: RegExp) => {
    await assert.rejects(run(spec), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, err.message);
      assert.match(err.details, message);
      return true;
    });
  };

  it('output_paths: files, directories and symlinks in one list; output_files and output_directories are then ignored', async () => {
    const res = await run({
      // out/ is not created by the command: the worker creates the parents of every output path.
      args: sh('echo f > out/file; mkdir -p out/dir/sub; echo g > out/dir/sub/g; ln -s file out/link; echo legacy > legacy.txt; mkdir legacydir; echo x > legacydir/x'),
      outputPaths: ['out/dir', 'out/file', 'out/link'],
      // Ignored when output_paths is set, as the spec says, even an absolute one.
      outputFiles: ['/abs/legacy.txt', 'legacy.txt'],
      outputDirectories: ['legacydir'],
    });
    assert.equal(res.status?.code ?? 0, 0, res.status?.message ?? '');
    const r = res.result!;
    assert.deepEqual(r.outputFiles!.map((o) => [o.path, o.digest?.hash]), [['out/file', digestOf('f\n').hash]]);
    assert.deepEqual(r.outputDirectories!.map((o) => o.path), ['out/dir']);
    assert.deepEqual(r.outputSymlinks!.map((o) => [o.path, o.target]), [['out/link', 'file']]);
    assert.deepEqual([r.outputFileSymlinks!.length, r.outputDirectorySymlinks!.length], [0, 0], 'the deprecated symlink fields stay empty with output_paths');
    const tree = re.Tree.decode(await readBlob(r.outputDirectories![0].treeDigest!)) as REv2.Tree;
    const [root, sub] = [tree.root as REv2.Directory, tree.children[0] as REv2.Directory];
    assert.deepEqual(root.directories.map((d) => d.name), ['sub']);
    assert.deepEqual(sub.files.map((x) => [x.name, x.digest?.hash]), [['g', digestOf('g\n').hash]]);
    // Not asked for: no node properties anywhere, so results (and their digests) are as before.
    assert.equal(r.outputFiles![0].nodeProperties, null);
    assert.equal(root.nodeProperties, null);
    assert.equal(sub.files[0].nodeProperties, null);
  });

  it('reports mtime and unix_mode on output files, symlinks and every Tree entry when output_node_properties asks', async () => {
    const res = await run({
      args: sh(
        'echo f > f.txt; chmod 640 f.txt; touch -d @1500000000.25 f.txt; ' +
          'mkdir -p d/e; echo g > d/e/g; chmod 751 d/e/g; touch -d @1400000000 d/e/g; ln -s e d/l; touch -h -d @1300000000 d/l; ' +
          'chmod 705 d/e; touch -d @1200000000 d/e; chmod 750 d; touch -d @1100000000 d',
      ),
      outputPaths: ['d', 'f.txt'],
      outputNodeProperties: ['mtime', 'unix_mode'],
    });
    assert.equal(res.status?.code ?? 0, 0, res.status?.message ?? '');
    const file = res.result!.outputFiles![0];
    assert.equal(file.nodeProperties?.unixMode?.value, 0o640);
    assert.deepEqual([seconds(file.nodeProperties?.mtime), file.nodeProperties?.mtime?.nanos], [1500000000, 250000000]);
    const tree = re.Tree.decode(await readBlob(res.result!.outputDirectories![0].treeDigest!)) as REv2.Tree;
    const root = tree.root as REv2.Directory;
    assert.deepEqual([root.nodeProperties?.unixMode?.value, seconds(root.nodeProperties?.mtime)], [0o750, 1100000000]);
    assert.equal(seconds(root.symlinks[0].nodeProperties?.mtime), 1300000000);
    const e = tree.children[0] as REv2.Directory;
    assert.deepEqual([e.nodeProperties?.unixMode?.value, seconds(e.nodeProperties?.mtime)], [0o705, 1200000000]);
    assert.deepEqual([e.files[0].name, e.files[0].nodeProperties?.unixMode?.value, seconds(e.files[0].nodeProperties?.mtime)], ['g', 0o751, 1400000000]);
    assert.equal(e.files[0].isExecutable, true);
  });

  it('honours mode and mtime on input files, directories and symlinks, without changing the shared file-cache copy', async () => {
    const content = `shared content ${Date.now()}\n`;
    const [d] = await f.upload(content);
    const sub = re.Directory.create({ files: [{ name: 'in', digest: d }], nodeProperties: props(0o700, 1300000000) });
    const inputRoot: REv2.IDirectory = {
      files: [
        { name: 'plain.txt', digest: d },
        // Same blob with its own mode and mtime, and an unknown string property (ignored, documented).
        { name: 'timed.txt', digest: d, nodeProperties: { ...props(0o640, 1484443815, 250000000), properties: [{ name: 'unknown-to-us', value: 'x' }] } },
      ],
      directories: [{ name: 'sub', digest: digestOf(encode(re.Directory, sub)) }],
      symlinks: [{ name: 'ln', target: 'plain.txt', nodeProperties: props(undefined, 1234567890) }],
    };
    // The action writes into its private copy (the worker runs as root here, so the mode does not stop it).
    const script = "stat -c '%n %a %Y' plain.txt timed.txt sub sub/in ln > report; stat -c '%y' timed.txt | cut -d' ' -f2 >> report; echo tampered >> timed.txt; cat plain.txt >> report";
    const res = await run({ args: sh(script), inputRoot, directories: [sub], outputPaths: ['report'], doNotCache: true });
    assert.equal(res.status?.code ?? 0, 0, res.status?.message ?? '');
    const lines = (await readBlob(res.result!.outputFiles![0].digest!)).toString().trim().split('\n');
    const [plain, timed, subDir, subIn, ln, frac, after] = lines;
    assert.match(plain, /^plain\.txt 444 \d+$/, 'no properties: the hardlinked cache copy (0444)');
    assert.notEqual(plain.split(' ')[2], '1484443815');
    assert.equal(timed, 'timed.txt 640 1484443815');
    assert.equal(frac.split('.')[1], '250000000');
    assert.equal(subDir, 'sub 700 1300000000', 'directory mode and mtime, set after everything inside it was created');
    assert.match(subIn, /^sub\/in 444 \d+$/);
    assert.equal(ln, 'ln 777 1234567890', "the symlink's own mtime (lutimes)");
    assert.equal(after, content.trim(), 'writing the private copy did not reach the shared inode');

    // The next action gets the cached file unchanged.
    const again = await run({ args: sh("cat plain.txt > report; stat -c '%a' plain.txt >> report"), inputRoot: { files: [{ name: 'plain.txt', digest: d }] }, outputPaths: ['report'], doNotCache: true });
    assert.equal((await readBlob(again.result!.outputFiles![0].digest!)).toString(), `${content}444\n`);
  });

  it('resolves output paths from working_directory: "../x" from "sub" is inside the input root', async () => {
    const sub = re.Directory.create({});
    const res = await run({ args: sh('echo t > ../top.txt'), workingDirectory: 'sub', inputRoot: { directories: [{ name: 'sub', digest: digestOf(encode(re.Directory, sub)) }] }, directories: [sub], outputPaths: ['../top.txt'] });
    assert.equal(res.status?.code ?? 0, 0, res.status?.message ?? '');
    assert.deepEqual(res.result!.outputFiles!.map((o) => [o.path, o.digest?.hash]), [['../top.txt', digestOf('t\n').hash]]);
  });

  it('refuses bad output paths and unknown output node properties with INVALID_ARGUMENT before queueing', async () => {
    await refused({ args: sh('true'), outputPaths: ['/etc/passwd'] }, /output_paths entry "\/etc\/passwd" is absolute/);
    await refused({ args: sh('true'), outputPaths: ['../escape'] }, /"\.\.\/escape".*leaves the input root/);
    await refused({ args: sh('true'), workingDirectory: 'sub', outputPaths: ['../../x'] }, /leaves the input root/);
    await refused({ args: sh('true'), outputFiles: ['out/'] }, /output_files entry "out\/" ends with "\/"/);
    await refused({ args: sh('true'), outputDirectories: ['a/../../b'] }, /output_directories entry .* leaves the input root/);
    // The spec: "If a property is not recognized by the server, the server will return an INVALID_ARGUMENT."
    await refused({ args: sh('true'), outputPaths: ['o'], outputNodeProperties: ['mtime', 'owner'] }, /output_node_properties lists "owner".*supported: mtime, unix_mode/);
  });

  it('fails an action whose input asks for setuid or a non-permission mode (INVALID_ARGUMENT from the worker)', async () => {
    const [d] = await f.upload('#!/bin/sh\n');
    for (const [mode, message] of [[0o4755, /sets setuid\/setgid/], [0o20644, /is not a permission mode/]] as const) {
      const res = await run({ args: sh('true'), inputRoot: { files: [{ name: 'x', digest: d, nodeProperties: props(mode) }] }, doNotCache: true });
      assert.equal(res.status?.code, Code.INVALID_ARGUMENT, res.status?.message ?? '');
      assert.match(res.status?.message ?? '', message);
    }
    // st_mode-style values carrying the node's own type bits are accepted.
    const ok = await run({ args: sh("stat -c '%a' x > m"), inputRoot: { files: [{ name: 'x', digest: d, nodeProperties: props(0o100750) }] }, outputPaths: ['m'], doNotCache: true });
    assert.equal((await readBlob(ok.result!.outputFiles![0].digest!)).toString(), '750\n');
  });

  it('lists the supported node properties in Capabilities', async () => {
    const caps = await f.clients.capabilities.getCapabilities({});
    assert.deepEqual(caps.executionCapabilities?.supportedNodeProperties, ['mtime', 'unix_mode']);
  });
});
