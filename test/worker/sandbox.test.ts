import * as assert from 'node:assert/strict';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Runner, RunRequest } from '../../src/worker/runner';
import { chownDirectories, RunAs } from '../../src/worker/run-as';
import { BubblewrapSandbox, probeBubblewrap } from '../../src/worker/sandbox';

/** Processes (in any namespace) whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) pids.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const NOBODY: RunAs = { uid: 65534, gid: 65534 };

describe('sandboxed actions (bubblewrap): escapes tried and refused', () => {
  let base: string;
  let work: string;
  let cache: string;
  let runner: Runner;
  let listener: Server;
  let port: number;
  let n = 0;

  before(async () => {
    const probe = probeBubblewrap();
    assert.ok(probe.ok, `bubblewrap must work here (scripts/test.sh installs it): ${!probe.ok && probe.reason}`);
    base = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-sandbox-'));
    await fsp.chmod(base, 0o755);
    work = path.join(base, 'work');
    cache = path.join(base, 'cache');
    await fsp.mkdir(work, { mode: 0o711 });
    await fsp.mkdir(cache);
    await fsp.writeFile(path.join(cache, 'cached-input'), 'shared cache file\n');
    // Another action's directory next to ours, with a secret in it.
    await fsp.mkdir(path.join(work, 'other-action'));
    await fsp.writeFile(path.join(work, 'other-action', 'secret'), 'other action data\n');
    runner = new Runner(new BubblewrapSandbox('bwrap', [work, cache]));
    listener = createServer((s) => s.end('hello from the host\n'));
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    port = (listener.address() as { port: number }).port;
  });
  after(async () => {
    listener?.close();
    await fsp.rm(base, { recursive: true, force: true });
  });

  /** Runs a shell script as one action in its own directory under `work`; returns exit code, stdout and stderr. */
  async function action(script: string, o: { network?: boolean; runAs?: RunAs; timeoutMs?: number; signal?: AbortSignal } = {}) {
    const root = path.join(work, `action-${++n}`);
    await fsp.mkdir(root);
    if (o.runAs) await chownDirectories(root, o.runAs);
    const req: RunRequest = {
      argv: ['/bin/sh', '-c', script],
      env: { PATH: '/usr/bin:/bin', HOME: root },
      cwd: root,
      stdoutPath: `${root}.out`,
      stderrPath: `${root}.err`,
      timeoutMs: o.timeoutMs ?? 30_000,
      signal: o.signal,
      runAs: o.runAs,
      sandbox: { root, cwd: root, network: o.network ?? false },
    };
    const r = await runner.run(req);
    return { ...r, root, stdout: await fsp.readFile(req.stdoutPath, 'utf8'), stderr: await fsp.readFile(req.stderrPath, 'utf8') };
  }

  it('writes only inside its own directory and a private /tmp', async () => {
    const outside = path.join(work, 'escaped');
    const tmpName = `/tmp/rustexec-sandbox-probe-${process.pid}-${n}`;
    const r = await action(`echo ok > out.txt && echo t > ${tmpName} && cat ${tmpName}; echo x > ${outside}; echo x > ../escaped2; echo x > /etc/rustexec-escape; echo x > ${cache}/cached-input; echo done`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(await fsp.readFile(path.join(r.root, 'out.txt'), 'utf8'), 'ok\n', 'its own directory is writable');
    assert.match(r.stdout, /^t\ndone\n$/, 'a private /tmp works');
    for (const f of [outside, path.join(work, 'escaped2'), '/etc/rustexec-escape', tmpName]) await assert.rejects(fsp.stat(f), /ENOENT/, `${f} must not exist`);
    assert.equal(await fsp.readFile(path.join(cache, 'cached-input'), 'utf8'), 'shared cache file\n');
    assert.match(r.stderr, /Read-only file system|No such file or directory/);
  });

  it("cannot read another action's directory or the worker's file cache", async () => {
    const r = await action(`cat ../other-action/secret ${work}/other-action/secret ${cache}/cached-input; ls ${work}`);
    assert.doesNotMatch(r.stdout, /other action data|shared cache file|other-action/);
    assert.match(r.stderr, /No such file or directory/);
  });

  it('leaves no background process behind, not even one that left the process group with setsid', async () => {
    const marker = `${4000 + Math.floor(Math.random() * 1000)}.${n}`;
    const r = await action(`sleep ${marker}1 & setsid sleep ${marker}2 & nohup sleep ${marker}3 >/dev/null 2>&1 & echo started`);
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'started\n');
    for (let i = 0; i < 50 && processesWith(`sleep ${marker}`).length > 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(processesWith(`sleep ${marker}`), [], 'every process of the action is gone when it ends');
  });

  it('kills the whole process tree on timeout and on cancel', async () => {
    const marker = `${5000 + Math.floor(Math.random() * 1000)}.${n}`;
    const timedOut = await action(`setsid sleep ${marker}1 & sleep ${marker}2`, { timeoutMs: 300 });
    assert.equal(timedOut.timedOut, true);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const cancelled = await action(`setsid sleep ${marker}3 & sleep ${marker}4`, { signal: ac.signal });
    assert.equal(cancelled.cancelled, true);
    for (let i = 0; i < 50 && processesWith(`sleep ${marker}`).length > 0; i++) await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(processesWith(`sleep ${marker}`), []);
  });

  const connect = `exec ${process.execPath} -e "require('net').connect(${'PORT'}, '127.0.0.1').on('data', (d) => { process.stdout.write(d); process.exit(0); }).on('error', (e) => { console.error(e.code); process.exit(3); })"`;

  it('has no network unless the platform asks for it (network=on)', async () => {
    const denied = await action(connect.replace('PORT', String(port)));
    assert.equal(denied.exitCode, 3, `connecting to the host must fail: ${denied.stdout}${denied.stderr}`);
    assert.match(denied.stderr, /ECONNREFUSED|ENETUNREACH/);
    const allowed = await action(connect.replace('PORT', String(port)), { network: true });
    assert.equal(allowed.exitCode, 0, allowed.stderr);
    assert.equal(allowed.stdout, 'hello from the host\n');
  });

  it('runs as the unprivileged --run-as user inside the sandbox (user namespaces)', async () => {
    assert.equal(process.getuid?.(), 0, 'switching to an unprivileged user needs root (CI runs as root)');
    assert.ok(probeBubblewrap(NOBODY).ok, 'bubblewrap must work as nobody (unprivileged user namespaces)');
    const r = await action(`id -u; echo mine > own.txt && cat own.txt; echo x > ${work}/escaped-as-nobody`, { runAs: NOBODY });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '65534\nmine\n');
    await assert.rejects(fsp.stat(path.join(work, 'escaped-as-nobody')), /ENOENT/);
  });

  it('still reports a missing command precisely (INVALID_ARGUMENT, not bubblewrap exit 1)', async () => {
    const root = path.join(work, 'missing-cmd');
    await fsp.mkdir(root);
    await assert.rejects(
      runner.run({ argv: ['no-such-tool'], env: { PATH: '/usr/bin:/bin' }, cwd: root, stdoutPath: `${root}.out`, stderrPath: `${root}.err`, timeoutMs: 5000, sandbox: { root, cwd: root, network: false } }),
      /cannot run "no-such-tool": not found/,
    );
  });
});
