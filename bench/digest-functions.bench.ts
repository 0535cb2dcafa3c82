import { randomBytes } from 'node:crypto';
import Long from 'long';
import { Digest } from '../src/digest/digest';
import { BLAKE3, DigestFunction, SHA256, SHA256TREE } from '../src/digest/digest-function';
import { re } from '../src/proto';
import { median as med, medianMs, report } from './bench-util';
import { startBenchServer } from './cache-clients';

const FNS: DigestFunction[] = [SHA256, BLAKE3, SHA256TREE];
/** Per function: one list of samples. */
const perFn = (): Record<string, number[]> => Object.fromEntries(FNS.map((f) => [f.name, []]));
/** "SHA-256 x unit, SHA256TREE y unit": the other functions' values next to BLAKE3's row. */
const others = (values: Record<string, number>, unit: string, digits = 1) =>
  [SHA256, SHA256TREE].map((f) => `${f === SHA256 ? 'SHA-256' : 'SHA256TREE'} ${values[f.name].toFixed(digits)} ${unit}`).join(', ');
const medians = (xs: Record<string, number[]>) => Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, med(v)]));

export interface DigestBenchOptions {
  /** Within `npm run bench`: 16 MiB instead of 64 MiB, one gRPC round instead of three, fewer repetitions (≈ 4× faster). */
  short?: boolean;
}

/**
 * BLAKE3 and SHA256TREE against SHA-256 in the same run: hashing small and large blobs in process, then
 * FindMissingBlobs and a 64 MiB ByteStream write/read over gRPC (the server hashes every upload). Runs alternate so
 * all see the same load.
 */
export async function digestFunctionsBench(options: DigestBenchOptions = {}): Promise<void> {
  const reps = options.short ? 3 : 7;
  const rounds = options.short ? 1 : 3;
  const small = Array.from({ length: options.short ? 3000 : 10_000 }, () => randomBytes(1024));
  const perBlob: Record<string, number> = {};
  for (const fn of FNS) perBlob[fn.name] = ((await medianMs(() => small.forEach((b) => Digest.compute(b, fn)), reps)) * 1000) / small.length;
  report('digest: hash a 1 KiB blob, BLAKE3 vs SHA-256', perBlob.blake3, 'µs', `${others(perBlob, 'µs', 2)} (BLAKE3 ${(perBlob.blake3 / perBlob.sha256).toFixed(2)}×)`);
  const streamed: Record<string, number> = {};
  for (const fn of FNS) streamed[fn.name] = ((await medianMs(() => small.forEach((b) => fn.createHash().update(b).digest('hex')), reps)) * 1000) / small.length;
  report('digest: stream-hash a 1 KiB blob (upload path), BLAKE3 vs SHA-256', streamed.blake3, 'µs', others(streamed, 'µs', 2));

  const size = (options.short ? 16 : 64) * 1024 * 1024;
  const sizeLabel = `${size / 1024 / 1024} MiB`;
  const blob = randomBytes(size);
  const mibs = (ms: number) => size / 1024 / 1024 / (ms / 1000);
  const large: Record<string, number> = {};
  for (const fn of FNS) large[fn.name] = mibs(await medianMs(() => fn.createHash().update(blob).digest('hex'), options.short ? 3 : 5, 1));
  report(`digest: hash ${sizeLabel}, BLAKE3 vs SHA-256`, large.blake3, 'MiB/s', others(large, 'MiB/s', 0));

  const server = await startBenchServer();
  try {
    const fmb = perFn();
    const digests = Object.fromEntries(FNS.map((fn) => [fn.name, Array.from({ length: 10_000 }, () => re.Digest.create({ hash: randomBytes(32).toString('hex'), sizeBytes: Long.fromNumber(1000) }))]));
    for (let round = 0; round < rounds; round++) {
      for (const fn of FNS) fmb[fn.name].push(await medianMs(() => server.findMissing({ digestFunction: fn.id, blobDigests: digests[fn.name] }), reps));
    }
    report('cache: FindMissingBlobs 10k digests, BLAKE3 vs SHA-256', med(fmb.blake3), 'ms', others(medians(fmb), 'ms'));

    const batch = perFn();
    for (let round = 0; round < rounds; round++) {
      for (const fn of FNS) {
        const blobs = Array.from({ length: 1000 }, () => randomBytes(1024));
        const requests = blobs.map((data) => ({ digest: Digest.compute(data, fn).toProto(), data }));
        const t = process.hrtime.bigint();
        await server.batchUpdate({ digestFunction: fn.id, requests });
        batch[fn.name].push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }
    report('cache: BatchUpdateBlobs 1000 × 1 KiB, BLAKE3 vs SHA-256', med(batch.blake3), 'ms', `${others(medians(batch), 'ms')} (median of ${rounds})`);

    const writes = perFn();
    const reads = perFn();
    for (let round = 0; round < rounds; round++) {
      for (const fn of FNS) {
        const data = randomBytes(size); // a fresh blob each time: a stored one would finish early
        const d = Digest.compute(data, fn);
        const blobPath = `blobs/${fn.inferredFromLength ? '' : `${fn.name}/`}${d}`;
        const t = process.hrtime.bigint();
        await server.write(blobPath, data);
        writes[fn.name].push(mibs(Number(process.hrtime.bigint() - t) / 1e6));
        reads[fn.name].push(mibs(await medianMs(() => server.read(blobPath), 1, 0)));
      }
    }
    report(`cache: ByteStream write ${sizeLabel}, BLAKE3 vs SHA-256`, med(writes.blake3), 'MiB/s', `${others(medians(writes), 'MiB/s', 0)} (median of ${rounds})`);
    report(`cache: ByteStream read ${sizeLabel}, BLAKE3 vs SHA-256`, med(reads.blake3), 'MiB/s', `${others(medians(reads), 'MiB/s', 0)} (median of ${rounds})`);
  } finally {
    await server.close();
  }
}

if (require.main === module) {
  digestFunctionsBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
