import type { ActionRecord, ActionTimings } from './build-record';
import type { Bottleneck } from './bottlenecks';
import type { CriticalPathResult, CriticalStep } from './build-critical-path';
import type { Lane } from './worker-lanes';

/** The JSON the dashboard's API serves (`/api/…`); the page in web/ imports these types. */

export interface BuildSummary {
  invocationId: string;
  tool?: string;
  /** A few of the targets it built (RequestMetadata.target_id), and how many there were. */
  targets: string[];
  targetCount: number;
  startedMs: number;
  /** Until the last action completed (still growing while it runs). */
  durationMs: number;
  finished: boolean;
  /** Client actions that ran on workers (each action of a fused pair counts), answered from the cache, and fused pairs. */
  executed: number;
  cached: number;
  fused: number;
  /** rustc processes run (a fused pair is one). */
  rustcRuns: number;
  running: number;
  rustcCpuSpentSeconds: number;
  rustcCpuSavedSeconds: number;
}

export interface ActionBar {
  id: string;
  kind: ActionRecord['kind'];
  mnemonic?: string;
  crateName?: string;
  /** Its unit in the critical path and bottleneck table (the crate, or `action:<id>`). */
  unit: string;
  fusion?: ActionRecord['fusion'];
  carrierId?: string;
  worker?: string;
  /** Index into BuildDetail.lanes, for actions that occupied a worker slot. */
  lane?: number;
  timings: ActionTimings;
  exitCode?: number;
  status?: string;
}

export interface BuildDetail {
  summary: BuildSummary;
  lanes: Lane[];
  actions: ActionBar[];
  criticalPath: CriticalPathResult & { wallMs: number };
  bottlenecks: Bottleneck[];
}

/** Everything about one action, for the panel a click on it opens. */
export interface ActionDetail extends ActionRecord {
  invocationId: string;
  /** Derived from the timings (undefined when a phase did not happen). */
  queueWaitMs?: number;
  inputFetchMs?: number;
  executionMs?: number;
  rmetaAfterMs?: number;
  uploadMs?: number;
  /** For a fused run: the client actions it answered; for one of those: the run. */
  partners: { id: string; kind: ActionRecord['kind']; mnemonic?: string }[];
}

export interface NowSnapshot {
  serverTimeMs: number;
  /** Queued actions by the scheduler's class (rust-metadata, rust-rlib, rust-bin, other). */
  queued: Record<string, number>;
  workers: { name: string; slots: number; busy: number }[];
  running: RunningAction[];
}

export interface RunningAction {
  id: string;
  invocationId: string;
  kind: ActionRecord['kind'];
  /** A fused rustc run (serving a crate's metadata and rlib actions). */
  fused: boolean;
  mnemonic?: string;
  crateName?: string;
  worker?: string;
  queuedMs: number;
  /** When a worker was given it. */
  startedMs: number;
}

export type { ActionRecord, ActionTimings, Bottleneck, CriticalPathResult, CriticalStep, Lane };
