import { re, REv2, WorkerPb } from '../proto';
import { declaredOutputs } from '../rust/rustc-command';

type Output = { path?: string | null };

/**
 * A fused run's answer as one of the actions it serves would have produced it: only that action's declared outputs.
 * When every output is declared (or there are none), the answer is returned as it is, uncopied.
 */
export function restrictOutputs(finished: WorkerPb.IExecutionFinished, command: REv2.ICommand): WorkerPb.IExecutionFinished {
  const r = finished.result;
  if (!r) return finished;
  // No outputs at all (a failure, or the .rmeta answer of a run that declared none yet): nothing to filter or copy.
  if (!r.outputFiles?.length && !r.outputDirectories?.length && !r.outputSymlinks?.length && !r.outputFileSymlinks?.length && !r.outputDirectorySymlinks?.length) return finished;
  const lists = [r.outputFiles, r.outputDirectories, r.outputSymlinks, r.outputFileSymlinks, r.outputDirectorySymlinks];
  const declared = new Set(declaredOutputs(command));
  if (lists.every((xs) => !xs || xs.every((x: Output) => declared.has(x.path ?? '')))) return finished;
  const keep = <T extends Output>(xs: T[] | null | undefined) => (xs ?? []).filter((x) => declared.has(x.path ?? ''));
  return {
    ...finished,
    result: re.ActionResult.create({
      ...r,
      outputFiles: keep(r.outputFiles),
      outputDirectories: keep(r.outputDirectories),
      outputSymlinks: keep(r.outputSymlinks),
      outputFileSymlinks: keep(r.outputFileSymlinks),
      outputDirectorySymlinks: keep(r.outputDirectorySymlinks),
    } as REv2.ActionResult),
  };
}
