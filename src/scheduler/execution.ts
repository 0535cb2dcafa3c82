import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { re, REv2 } from '../proto';
import { CrateDep } from '../rust/crate-deps';
import { RustActionKind } from '../rust/rustc-command';
import { PlatformProperty } from './platform';

export type Stage = 'QUEUED' | 'EXECUTING' | 'COMPLETED';

export interface ExecutionRequest {
  instanceName: string;
  digestFunction: DigestFunction;
  actionDigest: Digest;
  action: REv2.Action;
  command: REv2.Command;
  platform: PlatformProperty[];
  /** Lower runs sooner (REAPI ExecutionPolicy.priority). */
  priority: number;
  /** RequestMetadata.tool_invocation_id: the unit of fairness. */
  invocationId: string;
  timeoutMs: number;
  mnemonic?: string;
  /** What kind of rustc action this is (absent: not recognised, runs as "other"). */
  rust?: RustActionInfo;
  /** Internal fused rustc run serving a metadata/rlib pair; not a client operation. */
  carrier?: boolean;
  /** Report the .rmeta at this path (relative to the working directory) as soon as it exists. */
  watchRmeta?: string;
  /** The input tree's encoded Directory messages, read when the inputs were checked (sent on to the worker). */
  inputDirectories?: Buffer[];
}

export interface RustActionInfo {
  kind: RustActionKind;
  crateName?: string;
  /** Shared by a crate's RustcMetadata and Rustc actions (see src/rust/pair-key.ts). */
  pairKey?: string;
  rmetaPath?: string;
  rlibPath?: string;
  /** The crate built (its output path without extension) and what it compiles against: edges of the crate graph. */
  crate?: string;
  deps?: CrateDep[];
}

const NO_ACTION = re.Action.create({});
const NO_COMMAND = re.Command.create({});

/**
 * What a completed operation keeps of its request (for minutes, for WaitExecution): everything but the Action and
 * Command messages and the input tree, which can be kilobytes to megabytes per action.
 */
export function retainedRequest(r: ExecutionRequest): ExecutionRequest {
  if (r.action === NO_ACTION) return r;
  return slimRequest(copyRequest(r));
}

/**
 * A copy with every field listed (the compiler checks none is missed): V8 gives `{ ...r, more }` a ten-times larger
 * object than a literal of the same fields (measured: ~1.2 KB against ~120 B), and fields assigned later keep its shape.
 */
export function copyRequest(r: ExecutionRequest): ExecutionRequest {
  const copy: { [K in keyof Required<ExecutionRequest>]: ExecutionRequest[K] } = {
    instanceName: r.instanceName,
    digestFunction: r.digestFunction,
    actionDigest: r.actionDigest,
    action: r.action,
    command: r.command,
    platform: r.platform,
    priority: r.priority,
    invocationId: r.invocationId,
    timeoutMs: r.timeoutMs,
    mnemonic: r.mnemonic,
    rust: r.rust,
    carrier: r.carrier,
    watchRmeta: r.watchRmeta,
    inputDirectories: r.inputDirectories,
  };
  return copy;
}

/**
 * The same, in place: for a request the scheduler owns alone (the caller handed it over with submit and reads only the
 * fields kept), so completing an action copies nothing.
 */
export function slimRequest(r: ExecutionRequest): ExecutionRequest {
  r.action = NO_ACTION;
  r.command = NO_COMMAND;
  if (r.inputDirectories !== undefined) r.inputDirectories = undefined; // (adding the field would change its shape)
  return r;
}

/** @deprecated The old name of a caller's handle on an action in flight: see Operation (and Task for the run). */
export { Operation as Execution } from './operation';
