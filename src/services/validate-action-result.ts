import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { invalidArgument } from '../grpc/status-error';
import { REv2 } from '../proto';

/** Rejects an ActionResult whose digests or paths are malformed, naming the offending field. */
export function validateActionResult(r: REv2.IActionResult, fn: DigestFunction): void {
  const checkPath = (p: string | null | undefined, what: string) => {
    if (!p || p.startsWith('/') || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw invalidArgument(`action_result.${what}: path "${p ?? ''}" must be relative and normalized`);
    }
  };
  (r.outputFiles ?? []).forEach((f, i) => {
    checkPath(f.path, `output_files[${i}].path`);
    Digest.fromProto(f.digest, fn, `action_result.output_files[${i}].digest`);
  });
  (r.outputDirectories ?? []).forEach((d, i) => {
    checkPath(d.path || 'x', `output_directories[${i}].path`); // "" is the working directory itself
    Digest.fromProto(d.treeDigest, fn, `action_result.output_directories[${i}].tree_digest`);
  });
  if (r.stdoutDigest) Digest.fromProto(r.stdoutDigest, fn, 'action_result.stdout_digest');
  if (r.stderrDigest) Digest.fromProto(r.stderrDigest, fn, 'action_result.stderr_digest');
}
