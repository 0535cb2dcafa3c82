import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ZSTD_SERVE_LEVEL } from '../src/compression/compressor';
import { compressBuffer, decompressExactly } from '../src/compression/zstd';
import { Digest } from '../src/digest/digest';
import { SHA256 } from '../src/digest/digest-function';
import { medianMs, report } from './bench-util';
import { startBenchServer } from './cache-clients';

/** What a Rust build stores most: the toolchain's std/core/alloc/proc_macro/test rlibs, rmetas and libstd.so (~107 MiB). */
function rustCorpus(): Buffer[] {
  const sysroot = execFileSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
  const dir = path.join(sysroot, 'lib', 'rustlib', 'x86_64-unknown-linux-gnu', 'lib');
  return readdirSync(dir)
    .filter((f) => /^lib(std|core|alloc|proc_macro|test)-.*\.(rlib|rmeta|so)$/.test(f))
    .map((f) => readFileSync(path.join(dir, f)));
}

const cpuMs = (fn: () => void) => {
  const before = process.cpuUsage();
  fn();
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
};

/**
 * zstd (zstd-napi) on real Rust artifacts, and the storage decision: blobs stored as sent (raw) and compressed on the
 * fly for `compressed-blobs` reads, against blobs stored zstd-compressed (decompressed for plain reads).
 */
export interface ZstdBenchOptions {
  /** Within `npm run bench`: 2–3 timed runs per measurement instead of 3–5. */
  short?: boolean;
}

export async function zstdBench(options: ZstdBenchOptions = {}): Promise<void> {
  const [reps, readReps] = options.short ? [2, 3] : [3, 5];
  const corpus = rustCorpus();
  const total = corpus.reduce((n, b) => n + b.byteLength, 0);
  const mib = total / 1024 / 1024;
  const packed: Record<number, Buffer[]> = {};
  for (const level of [1, 3]) {
    const ms = await medianMs(() => (packed[level] = corpus.map((b) => compressBuffer(b, level))), reps, 1);
    const size = packed[level].reduce((n, b) => n + b.byteLength, 0);
    const dms = await medianMs(() => packed[level].forEach((z, i) => decompressExactly(z, corpus[i].byteLength, 'bench')), reps, 1);
    report(`zstd level ${level} on ${corpus.length} Rust artifacts (${mib.toFixed(0)} MiB): compress`, mib / (ms / 1000), 'MiB/s', `ratio ${(total / size).toFixed(2)}, decompress ${(mib / (dms / 1000)).toFixed(0)} MiB/s`);
  }

  // Per 100 MiB of blobs: CPU the server spends to answer each kind of read under either storage layout.
  const per100 = (ms: number) => (ms * 100) / mib;
  const compressCpu = per100(cpuMs(() => corpus.forEach((b) => compressBuffer(b, ZSTD_SERVE_LEVEL))));
  const decompressCpu = per100(cpuMs(() => packed[3].forEach((z, i) => decompressExactly(z, corpus[i].byteLength, 'bench'))));
  const storeCpu = per100(cpuMs(() => corpus.forEach((b) => compressBuffer(b, 3))));
  const diskRaw = total;
  const diskZ = packed[3].reduce((n, b) => n + b.byteLength, 0);
  report('storage raw vs zstd-3: disk bytes', diskZ / diskRaw, '×', `${(diskRaw / 2 ** 20).toFixed(0)} vs ${(diskZ / 2 ** 20).toFixed(0)} MiB`);
  report('storage raw: CPU per 100 MiB, plain read / compressed read', 0, 'ms', `0 / ${compressCpu.toFixed(0)} ms (level ${ZSTD_SERVE_LEVEL} on the fly)`);
  report('storage zstd-3: CPU per 100 MiB, write / plain read / compressed read', storeCpu, 'ms', `${storeCpu.toFixed(0)} / ${decompressCpu.toFixed(0)} / 0 ms`);

  // Read MiB/s (of uncompressed content) over gRPC for the largest artifact, in both layouts.
  const big = corpus.reduce((a, b) => (b.byteLength > a.byteLength ? b : a));
  const bigZ = compressBuffer(big, 3);
  const server = await startBenchServer();
  try {
    const d = Digest.compute(big, SHA256);
    const dz = Digest.compute(bigZ, SHA256); // stands in for the stored compressed file of the other layout
    await server.write(`blobs/${d}`, big);
    await server.write(`blobs/${dz}`, bigZ);
    const rate = (ms: number) => big.byteLength / 2 ** 20 / (ms / 1000);
    const rawPlain = rate(await medianMs(() => server.read(`blobs/${d}`), readReps, 1));
    const rawCompressed = rate(await medianMs(() => server.read(`compressed-blobs/zstd/${d}`), readReps, 1));
    const zCompressed = rate(await medianMs(() => server.read(`blobs/${dz}`), readReps, 1));
    const zPlain = rate(await medianMs(async () => decompressExactly(await server.read(`blobs/${dz}`), big.byteLength, 'bench'), readReps, 1));
    const label = `${(big.byteLength / 2 ** 20).toFixed(0)} MiB rlib`;
    report(`storage raw: read ${label}, plain / compressed-blobs`, rawPlain, 'MiB/s', `compressed-blobs ${rawCompressed.toFixed(0)} MiB/s`);
    report(`storage zstd-3: read ${label}, plain / compressed-blobs`, zPlain, 'MiB/s', `compressed-blobs ${zCompressed.toFixed(0)} MiB/s (content MiB/s)`);
  } finally {
    await server.close();
  }
}

if (require.main === module) {
  zstdBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
