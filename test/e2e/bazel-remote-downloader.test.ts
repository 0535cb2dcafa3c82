import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireBazelLock, bazelInfo, BazelWorkspace, buildFlags, makeWorkspace, runBazel, ServerProcess, startServerProcess } from './bazel-harness';

/**
 * Bazel 4.2.3 fetches an external archive through the server's Remote Asset API (--experimental_remote_downloader).
 * The origin answers only the server's downloader (by User-Agent), so a build that succeeds proves Bazel did not
 * download it itself.
 */
describe('Bazel 4.2.3 with --experimental_remote_downloader', () => {
  let release: (() => Promise<void>) | undefined;
  let server: ServerProcess | undefined;
  let ws: BazelWorkspace | undefined;
  let dir: string | undefined;
  let origin: http.Server | undefined;
  const crate = Buffer.concat([Buffer.from('pretend crate archive\n'), randomBytes(50_000)]);
  const requests: string[] = [];

  before(async () => {
    release = await acquireBazelLock();
    origin = http.createServer((req, res) => {
      requests.push(`${req.headers['user-agent']} ${req.url}`);
      if (req.headers['user-agent'] !== 'rustexec-remote-asset') res.writeHead(403).end('only the remote downloader may fetch');
      else if (req.url === '/crates/demo-1.0.0.crate') res.writeHead(200).end(crate);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => origin!.listen(0, '127.0.0.1', r));
    const port = (origin.address() as AddressInfo).port;
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-downloader-'));
    await fsp.writeFile(path.join(dir, 'config.json5'), JSON.stringify({ remoteAsset: { allowedHosts: ['127.0.0.1'] } }));
    server = await startServerProcess({ args: ['--config', path.join(dir, 'config.json5'), '--workers', '0'] });
    const sha256 = createHash('sha256').update(crate).digest('hex');
    ws = await makeWorkspace({
      WORKSPACE: [
        'workspace(name = "rustexec_e2e")',
        'load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_file")',
        `http_file(name = "demo_crate", urls = ["http://127.0.0.1:${port}/crates/demo-1.0.0.crate"], sha256 = "${sha256}", downloaded_file_path = "demo.crate")`,
        '',
      ].join('\n'),
      BUILD: 'genrule(name = "size", srcs = ["@demo_crate//file"], outs = ["size.txt"], cmd = "head -c 22 $< > $@; wc -c < $< >> $@")\n',
    });
  });

  after(async () => {
    await ws?.cleanup();
    await server?.stop();
    await new Promise((r) => origin?.close(r));
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    await release?.();
  });

  it('builds with an http_file fetched by the server, verified against its sha256 and read from the CAS', async () => {
    const flags = [...buildFlags({ remoteCache: server!.port }), `--experimental_remote_downloader=grpc://127.0.0.1:${server!.port}`];
    await runBazel(ws!, ['build', ...flags, '//:size']);
    const bin = await bazelInfo(ws!, 'bazel-bin', flags);
    assert.equal(await fsp.readFile(path.join(bin, 'size.txt'), 'utf8'), `pretend crate archive\n${crate.byteLength}\n`);
    assert.deepEqual(requests, ['rustexec-remote-asset /crates/demo-1.0.0.crate'], 'one download, by the server');
    const fetched = server!.logRecords().find((r) => r.msg === 'asset fetched from origin');
    assert.ok(fetched, 'the server logged the fetch');
  });
});
