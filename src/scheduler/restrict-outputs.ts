import { re, REv2, WorkerPb } from '../proto';
import { declaredOutputs } from '../rust/rustc-command';

/** A fused run's answer as one of the actions it serves would have produced it: only that action's declared outputs. */
export function restrictOutputs(finished: WorkerPb.IExecutionFinished, command: REv2.ICommand): WorkerPb.IExecutionFinished {
  const r = finished.result;
  if (!r) return finished;
  const declared = new Set(declaredOutputs(command));
  const keep = <T extends { path?: string | null }>(xs: T[] | null | undefined) => (xs ?? []).filter((x) => declared.has(x.path ?? ''));
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
