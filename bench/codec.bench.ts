import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';
import Long from 'long';
import { randomBytes } from 'node:crypto';
import { encode, re } from '../src/proto';
import { medianMs, report } from './bench-util';

/** FindMissingBlobs with 10k digests: the static protobufjs codec we use vs proto-loader's dynamic one. */
export async function codecBench(): Promise<void> {
  const digests = Array.from({ length: 10_000 }, () => ({ hash: randomBytes(32).toString('hex'), sizeBytes: Long.fromNumber(1 + Math.floor(Math.random() * 1e6)) }));
  const msg = re.FindMissingBlobsRequest.create({ instanceName: '', blobDigests: digests });
  const bytes = encode(re.FindMissingBlobsRequest, msg);
  const staticEncode = await medianMs(() => encode(re.FindMissingBlobsRequest, msg), 20);
  const staticDecode = await medianMs(() => re.FindMissingBlobsRequest.decode(bytes), 20);
  report('codec: static protobufjs encode 10k-digest FindMissingBlobs', staticEncode, 'ms');
  report('codec: static protobufjs decode 10k-digest FindMissingBlobs', staticDecode, 'ms');

  const def = protoLoader.loadSync(path.join(__dirname, '../../protos/build/bazel/remote/execution/v2/remote_execution.proto'), {
    includeDirs: [path.join(__dirname, '../../protos')],
    longs: String,
    keepCase: false,
  });
  const method = (def['build.bazel.remote.execution.v2.ContentAddressableStorage'] as Record<string, { requestSerialize(m: unknown): Buffer; requestDeserialize(b: Buffer): unknown }>).FindMissingBlobs;
  const plain = { instanceName: '', blobDigests: digests.map((d) => ({ hash: d.hash, sizeBytes: d.sizeBytes.toString() })) };
  const loaderEncode = await medianMs(() => method.requestSerialize(plain), 20);
  const loaderDecode = await medianMs(() => method.requestDeserialize(bytes), 20);
  report('codec: proto-loader encode 10k-digest FindMissingBlobs', loaderEncode, 'ms', `(${(loaderEncode / staticEncode).toFixed(1)}× static)`);
  report('codec: proto-loader decode 10k-digest FindMissingBlobs', loaderDecode, 'ms', `(${(loaderDecode / staticDecode).toFixed(1)}× static)`);
}
