import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireBazelLock, BazelWorkspace, makeWorkspace, parseExecutionLog, runBazel, ServerProcess, startServerProcess } from './bazel-harness';

const TOKEN = 'bazel-ci-token-7c1d0e9a4b2f';
const OTHER = 'other-instance-token-55aa77bb';

// Debian's Bazel 4.2.3 cannot speak TLS at all on this machine: it crashes with "JDK provider does not support ALPN
// protocol" (its bundled netty finds no ALPN support on Java 17, and netty-tcnative is not loadable). So Bazel is driven
// with tokens over plaintext here, and TLS with tokens is proven with a gRPC client and a worker (tls.test.ts).
describe('Bazel with bearer tokens (remote execution)', () => {
  let release: (() => Promise<void>) | undefined;
  let server: ServerProcess | undefined;
  let ws: BazelWorkspace | undefined;
  let dir: string;

  before(async () => {
    release = await acquireBazelLock();
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-bazel-tls-'));
    await fsp.writeFile(
      path.join(dir, 'tokens.json'),
      JSON.stringify({ clients: [{ name: 'ci', token: TOKEN, instances: [''] }, { name: 'other', token: OTHER, instances: ['elsewhere'] }] }),
    );
    server = await startServerProcess({
      args: ['--data', path.join(dir, 'data'), '--workers', '1', '--tokens', path.join(dir, 'tokens.json')],
    });
    ws = await makeWorkspace({ BUILD: '[genrule(name = "g%d" % i, outs = ["g%d.txt" % i], cmd = "echo secure %d > $@" % i) for i in range(3)]\n' });
  });

  after(async () => {
    await ws?.cleanup();
    await server?.stop();
    await fsp.rm(dir, { recursive: true, force: true });
    await release?.();
  });

  const flags = (header?: string) => [
    '--nosandbox_debug',
    '--symlink_prefix=/',
    '--color=no',
    '--curses=no',
    `--remote_executor=grpc://127.0.0.1:${server!.port}`,
    ...(header ? [`--remote_header=authorization=Bearer ${header}`] : []),
  ];

  it('builds remotely with a valid token', async () => {
    const log = ws!.scratchFile('exec.json');
    await runBazel(ws!, ['build', ...flags(TOKEN), `--execution_log_json_file=${log}`, '//...'], { timeoutMs: 180_000 });
    const spawns = await parseExecutionLog(log);
    assert.equal(spawns.length, 3);
    for (const s of spawns) assert.equal(s.runner, 'remote');
  });

  for (const [what, header, pattern] of [
    ['without a token', undefined, /UNAUTHENTICATED/],
    ['with a wrong token', 'wrong-token-000000000000', /UNAUTHENTICATED/],
    ['with a token for another instance', OTHER, /PERMISSION_DENIED/],
  ] as const) {
    it(`fails ${what}`, async () => {
      await runBazel(ws!, ['clean']);
      const r = await runBazel(ws!, ['build', ...flags(header), '//...'], { expectExit: null, timeoutMs: 120_000 });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, pattern);
    });
  }
});
