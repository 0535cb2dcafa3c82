import { BlobStore } from '../blobstore/blob-store';
import { readBlob } from '../blobstore/blob-io';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { re, REv2 } from '../proto';

export interface InlineRequest {
  inlineStdout?: boolean;
  inlineStderr?: boolean;
  inlineOutputFiles?: string[];
}

/**
 * Returns a copy of `result` with stdout/stderr and the requested output files inlined, smallest first, as long as
 * the total stays within `maxBytes` (the spec lets the server skip any that do not fit).
 */
export async function inlineOutputs(cas: BlobStore, fn: DigestFunction, result: REv2.ActionResult, req: InlineRequest, maxBytes: number): Promise<REv2.ActionResult> {
  const out = re.ActionResult.create({ ...result, outputFiles: result.outputFiles.map((f) => re.OutputFile.create({ ...f })) });
  type Candidate = { digest: Digest; set: (b: Buffer) => void };
  const candidates: Candidate[] = [];
  if (req.inlineStdout && result.stdoutDigest && result.stdoutRaw.byteLength === 0) {
    candidates.push({ digest: Digest.fromProto(result.stdoutDigest, fn), set: (b) => (out.stdoutRaw = b) });
  }
  if (req.inlineStderr && result.stderrDigest && result.stderrRaw.byteLength === 0) {
    candidates.push({ digest: Digest.fromProto(result.stderrDigest, fn), set: (b) => (out.stderrRaw = b) });
  }
  const wanted = new Set(req.inlineOutputFiles ?? []);
  for (const f of out.outputFiles) {
    if (wanted.has(f.path ?? '') && f.digest && !f.contents?.byteLength) {
      candidates.push({ digest: Digest.fromProto(f.digest, fn), set: (b) => (f.contents = b) });
    }
  }
  candidates.sort((a, b) => a.digest.size - b.digest.size);
  let budget = maxBytes;
  for (const c of candidates) {
    if (c.digest.size > budget) break;
    budget -= c.digest.size;
    c.set(await readBlob(cas, c.digest));
  }
  return out;
}
