import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireBazelLock, bazelInfo, BazelWorkspace, buildFlags, makeWorkspace, parseExecutionLog, runBazel, ServerProcess, startServerProcess } from './bazel-harness';

// 20 genrules over inputs in nested directories, all running a tool script shipped as an input, plus a Starlark
// rule whose output is a directory (a tree artifact) consumed by a 21st genrule.
const TOOL = `#!/bin/sh
# usage: gen.sh LABEL OUT INPUT...
label="$1"; out="$2"; shift 2
{ echo "[$label]"; cat "$@"; } > "$out"
`;
const DEFS = `
def _tree_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    ctx.actions.run_shell(
        outputs = [out],
        inputs = ctx.files.srcs,
        mnemonic = "MakeTree",
        command = "mkdir -p {o}/sub/deeper && for f in {s}; do cp $f {o}/sub/; done && echo made > {o}/top.txt && echo deep > {o}/sub/deeper/d.txt".format(
            o = out.path,
            s = " ".join([f.path for f in ctx.files.srcs]),
        ),
    )
    return [DefaultInfo(files = depset([out]))]

tree = rule(implementation = _tree_impl, attrs = {"srcs": attr.label_list(allow_files = True)})
`;
const BUILD = `
load(":defs.bzl", "tree")

[genrule(
    name = "leaf%d" % i,
    srcs = ["data/level1/level2/in%d.txt" % (i % 3)],
    outs = ["gen/leaf%d.txt" % i],
    tools = ["//tools:gen.sh"],
    cmd = "$(location //tools:gen.sh) leaf%d $@ $(SRCS)" % i,
) for i in range(12)]

[genrule(
    name = "mid%d" % i,
    srcs = [":leaf%d" % (3 * i), ":leaf%d" % (3 * i + 1), ":leaf%d" % (3 * i + 2)],
    outs = ["gen/mid/mid%d.txt" % i],
    tools = ["//tools:gen.sh"],
    cmd = "$(location //tools:gen.sh) mid%d $@ $(SRCS)" % i,
) for i in range(4)]

[genrule(
    name = "top%d" % i,
    srcs = [":mid%d" % (2 * i), ":mid%d" % (2 * i + 1)],
    outs = ["gen/top/top%d.txt" % i],
    tools = ["//tools:gen.sh"],
    cmd = "$(location //tools:gen.sh) top%d $@ $(SRCS)" % i,
) for i in range(2)]

genrule(
    name = "all",
    srcs = [":top0", ":top1"],
    outs = ["gen/all.txt"],
    tools = ["//tools:gen.sh"],
    cmd = "$(location //tools:gen.sh) all $@ $(SRCS)",
)

genrule(
    name = "exec_bit",
    outs = ["gen/script.sh"],
    cmd = "printf '#!/bin/sh\\\\necho ran\\\\n' > $@ && chmod +x $@",
    executable = True,
)

tree(name = "tree", srcs = ["data/level1/level2/in0.txt", "data/level1/other.txt"])

genrule(
    name = "from_tree",
    srcs = [":tree"],
    outs = ["gen/from_tree.txt"],
    cmd = "(cd $(location :tree) && find . -type f | sort && cat top.txt sub/deeper/d.txt) > $@",
)
`;
const FILES = {
  BUILD,
  'defs.bzl': DEFS,
  'tools/BUILD': 'exports_files(["gen.sh"])\n',
  'tools/gen.sh': TOOL,
  'data/level1/level2/in0.txt': 'zero\n',
  'data/level1/level2/in1.txt': 'one\n',
  'data/level1/level2/in2.txt': 'two\n',
  'data/level1/other.txt': 'other\n',
  'fail/BUILD': 'genrule(name = "bad", outs = ["bad.txt"], cmd = "echo \'intentional failure: marker-7f3a\' >&2; exit 7")\n',
};

const IN = ['zero\n', 'one\n', 'two\n'];
const leaf = (i: number) => `[leaf${i}]\n${IN[i % 3]}`;
const mid = (i: number) => `[mid${i}]\n${leaf(3 * i)}${leaf(3 * i + 1)}${leaf(3 * i + 2)}`;
const top = (i: number) => `[top${i}]\n${mid(2 * i)}${mid(2 * i + 1)}`;
const EXPECTED: Record<string, string> = {
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`gen/leaf${i}.txt`, leaf(i)])),
  ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`gen/mid/mid${i}.txt`, mid(i)])),
  'gen/top/top0.txt': top(0),
  'gen/top/top1.txt': top(1),
  'gen/all.txt': `[all]\n${top(0)}${top(1)}`,
  'gen/script.sh': '#!/bin/sh\necho ran\n',
  'gen/from_tree.txt': './sub/deeper/d.txt\n./sub/in0.txt\n./sub/other.txt\n./top.txt\nmade\ndeep\n',
};

describe('Bazel 4.2.3 with the server as its remote executor', () => {
  let release: (() => Promise<void>) | undefined;
  let server: ServerProcess | undefined;
  let ws: BazelWorkspace | undefined;
  let dataDir: string | undefined;

  before(async () => {
    release = await acquireBazelLock();
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-bazel-re-data-'));
    server = await startServerProcess({ args: ['--data', dataDir, '--workers', '2'] });
    ws = await makeWorkspace(FILES);
    await fsp.chmod(path.join(ws.dir, 'tools/gen.sh'), 0o755);
  });

  after(async () => {
    await ws?.cleanup();
    await server?.stop();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
    await release?.();
  });

  it('runs every action remotely with correct outputs, then serves all of them from the cache after bazel clean', async () => {
    const flags = buildFlags({ remoteExecutor: server!.port });
    const log1 = ws!.scratchFile('exec1.json');
    await runBazel(ws!, ['build', ...flags, `--execution_log_json_file=${log1}`, '//:all', '//:exec_bit', '//:from_tree', '//:leaf0'], { timeoutMs: 300_000 });
    const spawns = await parseExecutionLog(log1);
    const genrules = spawns.filter((s) => s.mnemonic === 'Genrule');
    assert.ok(genrules.length >= 20, `at least 20 genrule actions, got ${genrules.length}`);
    assert.ok(spawns.some((s) => s.mnemonic === 'MakeTree'), 'the tree artifact action ran');
    for (const s of spawns) {
      assert.equal(s.runner, 'remote', `${s.mnemonic} ${s.progressMessage} ran on runner ${s.runner}`);
      assert.notEqual(s.remoteCacheHit, true);
    }

    const bin = await bazelInfo(ws!, 'bazel-bin', flags);
    for (const [file, content] of Object.entries(EXPECTED)) assert.equal(await fsp.readFile(path.join(bin, file), 'utf8'), content, file);
    assert.ok(((await fsp.stat(path.join(bin, 'gen/script.sh'))).mode & 0o100) !== 0, 'the executable bit survived');

    await runBazel(ws!, ['clean']);
    const log2 = ws!.scratchFile('exec2.json');
    await runBazel(ws!, ['build', ...flags, `--execution_log_json_file=${log2}`, '//:all', '//:exec_bit', '//:from_tree'], { timeoutMs: 300_000 });
    const again = await parseExecutionLog(log2);
    assert.equal(again.length, spawns.length);
    for (const s of again) assert.equal(s.remoteCacheHit, true, `${s.mnemonic} ${s.progressMessage} was a cache hit`);
    for (const [file, content] of Object.entries(EXPECTED)) assert.equal(await fsp.readFile(path.join(bin, file), 'utf8'), content, file);
  });

  it('fails the build when a remote action fails, with its stderr shown by Bazel', async () => {
    const r = await runBazel(ws!, ['build', ...buildFlags({ remoteExecutor: server!.port }), '//fail:bad'], { expectExit: null, timeoutMs: 120_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /intentional failure: marker-7f3a/);
  });
});
