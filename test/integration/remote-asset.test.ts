import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { credentials, makeGenericClientConstructor, ServiceError } from '@grpc/grpc-js';
import { FetchService, PushService } from '../../src/grpc/service-definitions';
import { asset, AssetPb } from '../../src/proto';
import { blobOf, num } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer } from '../helpers/test-server';

/** A local origin: serves `files`, counts requests per path and remembers user agents; /redirect goes elsewhere. */
export async function startOrigin(files: Map<string, Buffer>): Promise<{ url: (p: string) => string; port: number; hits: Map<string, number>; agents: string[]; close(): Promise<void> }> {
  const hits = new Map<string, number>();
  const agents: string[] = [];
  const server = http.createServer((req, res) => {
    const p = req.url ?? '';
    hits.set(p, (hits.get(p) ?? 0) + 1);
    agents.push(String(req.headers['user-agent']));
    if (p.startsWith('/redirect')) {
      res.writeHead(302, { location: `http://localhost:${(server.address() as AddressInfo).port}/a.txt` }).end();
      return;
    }
    const body = files.get(p);
    if (!body) res.writeHead(404).end('no');
    else res.writeHead(200, { 'content-length': body.byteLength }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: (p) => `http://127.0.0.1:${port}${p}`, port, hits, agents, close: () => new Promise((r) => server.close(() => r())) };
}

const sri = (data: Buffer) => `sha256-${createHash('sha256').update(data).digest('base64')}`;
type Unary<Req, Res> = (req: Req) => Promise<Res>;

describe('Remote Asset API', () => {
  let server: TestServer;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let fetchBlob: Unary<AssetPb.IFetchBlobRequest, AssetPb.FetchBlobResponse>;
  let fetchDirectory: Unary<AssetPb.IFetchDirectoryRequest, AssetPb.FetchDirectoryResponse>;
  let pushBlob: Unary<AssetPb.IPushBlobRequest, AssetPb.PushBlobResponse>;
  let pushDirectory: Unary<AssetPb.IPushDirectoryRequest, AssetPb.PushDirectoryResponse>;
  const files = new Map<string, Buffer>([['/a.txt', randomBytes(200_000)], ['/b.tar.gz', randomBytes(3000)], ['/big.bin', randomBytes(1536 * 1024)]]);
  const close: (() => void)[] = [];

  before(async () => {
    origin = await startOrigin(files);
    server = await startTestServer({ config: { remoteAsset: { allowedHosts: ['127.0.0.1'], timeoutMs: 30_000, maxBytes: 1024 * 1024 } } });
    const make = (def: typeof FetchService | typeof PushService, name: string) => {
      const c = new (makeGenericClientConstructor(def, name))(server.address, credentials.createInsecure()) as unknown as Record<string, Function> & { close(): void };
      close.push(() => c.close());
      return <Req, Res>(m: string): Unary<Req, Res> => (req) => new Promise((resolve, reject) => c[m](req, (e: ServiceError | null, r: Res) => (e ? reject(e) : resolve(r))));
    };
    const f = make(FetchService, 'Fetch');
    const p = make(PushService, 'Push');
    fetchBlob = (req) => f<AssetPb.IFetchBlobRequest, AssetPb.FetchBlobResponse>('fetchBlob')(asset.FetchBlobRequest.create(req as AssetPb.FetchBlobRequest));
    fetchDirectory = (req) => f<AssetPb.IFetchDirectoryRequest, AssetPb.FetchDirectoryResponse>('fetchDirectory')(asset.FetchDirectoryRequest.create(req as AssetPb.FetchDirectoryRequest));
    pushBlob = (req) => p<AssetPb.IPushBlobRequest, AssetPb.PushBlobResponse>('pushBlob')(asset.PushBlobRequest.create(req as AssetPb.PushBlobRequest));
    pushDirectory = (req) => p<AssetPb.IPushDirectoryRequest, AssetPb.PushDirectoryResponse>('pushDirectory')(asset.PushDirectoryRequest.create(req as AssetPb.PushDirectoryRequest));
  });
  after(async () => {
    for (const c of close) c();
    await server.close();
    await origin.close();
  });

  it('downloads by URL and checksum.sri, verifies, stores in the CAS, then serves the checksum from the CAS', async () => {
    const data = files.get('/a.txt')!;
    const res = await fetchBlob({ uris: [origin.url('/a.txt')], qualifiers: [{ name: 'checksum.sri', value: sri(data) }] });
    assert.equal(res.status?.code ?? 0, 0, res.status?.message ?? '');
    assert.deepEqual([res.blobDigest?.hash, num(res.blobDigest?.sizeBytes)], [blobOf(data).hash, data.byteLength]);
    assert.ok((await server.clients.byteStream.read(`blobs/${res.blobDigest!.hash}/${data.byteLength}`)).equals(data));
    assert.equal(origin.hits.get('/a.txt'), 1);
    assert.ok(origin.agents.includes('rustexec-remote-asset'));
    const again = await fetchBlob({ uris: ['http://127.0.0.1:1/mirror/a.txt'], qualifiers: [{ name: 'checksum.sri', value: sri(data) }] });
    assert.equal(again.status?.code ?? 0, 0);
    assert.equal(again.blobDigest?.hash, res.blobDigest?.hash);
    assert.equal(origin.hits.get('/a.txt'), 1, 'known content is not downloaded again');
  });

  it('refuses content whose checksum does not match (ABORTED) and stores nothing', async () => {
    const data = files.get('/b.tar.gz')!;
    const res = await fetchBlob({ uris: [origin.url('/b.tar.gz')], qualifiers: [{ name: 'checksum.sri', value: sri(Buffer.from('something else')) }] });
    assert.equal(res.status?.code, Code.ABORTED);
    assert.match(res.status?.message ?? '', /checksum.sri says/);
    assert.equal((await server.clients.cas.findMissingBlobs({ blobDigests: [blobOf(data).digest] })).missingBlobDigests.length, 1);
  });

  it('answers hosts off the allow-list (also after a redirect) with PERMISSION_DENIED, a 404 with NOT_FOUND, too much with RESOURCE_EXHAUSTED', async () => {
    const denied = await fetchBlob({ uris: [`http://localhost:${origin.port}/a.txt`] });
    assert.equal(denied.status?.code, Code.PERMISSION_DENIED);
    assert.match(denied.status?.message ?? '', /localhost is not on this server's remoteAsset.allowedHosts/);
    const redirected = await fetchBlob({ uris: [origin.url('/redirect')] });
    assert.equal(redirected.status?.code, Code.PERMISSION_DENIED);
    const missing = await fetchBlob({ uris: [origin.url('/nope')] });
    assert.equal(missing.status?.code, Code.NOT_FOUND);
    const tooBig = await fetchBlob({ uris: [origin.url('/big.bin')] });
    assert.equal(tooBig.status?.code, Code.RESOURCE_EXHAUSTED, 'remoteAsset.maxBytes is 1 MiB');
  });

  it('records a Push mapping and serves it by URI and qualifiers without any download', async () => {
    const blob = blobOf(randomBytes(1000));
    await server.clients.cas.batchUpdateBlobs({ requests: [{ digest: blob.digest, data: blob.data }] });
    const uri = 'https://crates.example.invalid/regex-1.0.0.crate';
    await pushBlob({ uris: [uri], qualifiers: [{ name: 'vcs.commit', value: 'abc' }], blobDigest: blob.digest });
    const res = await fetchBlob({ uris: [uri], qualifiers: [{ name: 'vcs.commit', value: 'abc' }] });
    assert.equal(res.status?.code ?? 0, 0, res.status?.message ?? '');
    assert.equal(res.blobDigest?.hash, blob.hash);
    const other = await fetchBlob({ uris: [uri], qualifiers: [{ name: 'vcs.commit', value: 'def' }] });
    assert.notEqual(other.status?.code ?? 0, 0, 'other qualifiers are another asset');
    await expectStatus(pushBlob({ uris: [uri], blobDigest: blobOf('never uploaded').digest }), Code.FAILED_PRECONDITION, 'not in the CAS');

    const dir = blobOf(Buffer.alloc(0)); // the empty Directory message
    await pushDirectory({ uris: [uri], rootDirectoryDigest: dir.digest });
    const fetched = await fetchDirectory({ uris: [uri] });
    assert.equal(fetched.status?.code ?? 0, 0);
    assert.equal(fetched.rootDirectoryDigest?.hash, dir.hash);
  });

  it('rejects malformed requests with INVALID_ARGUMENT', async () => {
    await expectStatus(fetchBlob({ uris: [] }), Code.INVALID_ARGUMENT, 'uris is empty');
    await expectStatus(fetchBlob({ uris: [origin.url('/a.txt')], qualifiers: [{ name: 'checksum.sri', value: 'md5-abc' }] }), Code.INVALID_ARGUMENT, 'checksum.sri');
    await expectStatus(fetchBlob({ uris: [origin.url('/a.txt')], qualifiers: [{ name: 'checksum.sri', value: 'sha256-AAAA' }] }), Code.INVALID_ARGUMENT, '32 bytes');
    await expectStatus(fetchBlob({ uris: [origin.url('/a.txt')], qualifiers: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }), Code.INVALID_ARGUMENT, 'more than once');
    const ftp = await fetchBlob({ uris: ['ftp://127.0.0.1/a.txt'] });
    assert.equal(ftp.status?.code, Code.INVALID_ARGUMENT);
  });
});
