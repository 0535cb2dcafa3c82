import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import Long from 'long';
import { startFrontend } from '../src/cmd/frontend';
import { defaultConfig } from '../src/config/server-config';
import { Digest } from '../src/digest/digest';
import { SHA256 } from '../src/digest/digest-function';
import { ByteStreamService, ContentAddressableStorageService } from '../src/grpc/service-definitions';
import { silentLogger } from '../src/logging/logger';
import { bytestream, ByteStreamPb, re, REv2 } from '../src/proto';
import { medianMs, report } from './bench-util';

/** The cache path over real gRPC on loopback: FindMissingBlobs of 10k digests and 64 MiB ByteStream write/read. */
export async function cacheBench(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-cache-'));
  const config = defaultConfig(dir);
  config.listen = '127.0.0.1:0';
  const fe = await startFrontend(config, silentLogger());
  const address = `127.0.0.1:${fe.port}`;
  const opts = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc-node.flow_control_window': 8 * 1024 * 1024 };
  const Cas = makeGenericClientConstructor(ContentAddressableStorageService, 'Cas');
  const Bs = makeGenericClientConstructor(ByteStreamService, 'Bs');
  const cas = new Cas(address, credentials.createInsecure(), opts) as unknown as Record<string, Function>;
  const bs = new Bs(address, credentials.createInsecure(), opts) as unknown as Record<string, Function>;
  try {
    const digests = Array.from({ length: 10_000 }, () => re.Digest.create({ hash: randomBytes(32).toString('hex'), sizeBytes: Long.fromNumber(1000) }));
    const fmb = await medianMs(
      () => new Promise((resolve, reject) => cas.findMissingBlobs(re.FindMissingBlobsRequest.create({ blobDigests: digests }), (e: Error | null, r: REv2.FindMissingBlobsResponse) => (e ? reject(e) : resolve(r)))),
      10,
    );
    report('cache: FindMissingBlobs 10k digests, disk store', fmb, 'ms');

    const size = 64 * 1024 * 1024;
    const blob = randomBytes(size);
    const digest = Digest.compute(blob, SHA256);
    const write = () =>
      new Promise<void>((resolve, reject) => {
        const call = bs.write((e: Error | null) => (e ? reject(e) : resolve()));
        const name = `uploads/${randomUUID()}/blobs/${digest.hash}/${digest.size}`;
        const chunk = 1024 * 1024;
        for (let off = 0; off < size; off += chunk) {
          call.write(bytestream.WriteRequest.create({ resourceName: off === 0 ? name : '', writeOffset: Long.fromNumber(off), data: blob.subarray(off, off + chunk), finishWrite: off + chunk >= size }));
        }
        call.end();
      });
    const t0 = process.hrtime.bigint();
    await write();
    const writeMs = Number(process.hrtime.bigint() - t0) / 1e6;
    report('cache: ByteStream write 64 MiB (hash + fsync + rename)', (size / 1024 / 1024) / (writeMs / 1000), 'MiB/s', `${writeMs.toFixed(0)} ms`);
    const readMs = await medianMs(
      () =>
        new Promise<void>((resolve, reject) => {
          const call = bs.read(bytestream.ReadRequest.create({ resourceName: `blobs/${digest.hash}/${digest.size}` }));
          let n = 0;
          call.on('data', (r: ByteStreamPb.ReadResponse) => (n += r.data.byteLength));
          call.on('end', () => (n === size ? resolve() : reject(new Error(`read ${n} bytes`))));
          call.on('error', reject);
        }),
      5,
      1,
    );
    report('cache: ByteStream read 64 MiB from disk store', (size / 1024 / 1024) / (readMs / 1000), 'MiB/s', `${readMs.toFixed(0)} ms`);
  } finally {
    cas.close?.();
    bs.close?.();
    await fe.close();
    await rm(dir, { recursive: true, force: true });
  }
}
