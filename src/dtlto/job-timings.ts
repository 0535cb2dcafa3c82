import Long from 'long';
import { ProtobufPb, REv2 } from '../proto';

/** When a remote job passed each stage (epoch ms, sub-millisecond), from its ActionResult.execution_metadata. */
export interface JobTimings {
  worker: string;
  queued: number;
  workerStart: number;
  executionStart: number;
  executionEnd: number;
  workerEnd: number;
}

type Time = ProtobufPb.ITimestamp | null | undefined;

function ms(t: Time): number {
  return t ? Long.fromValue(t.seconds ?? 0).toNumber() * 1000 + (t.nanos ?? 0) / 1e6 : NaN;
}

/** The stages of a job that ran on a worker; undefined when the metadata lacks them (e.g. a cache hit from elsewhere). */
export function jobTimings(md: REv2.IExecutedActionMetadata | null | undefined): JobTimings | undefined {
  if (!md) return undefined;
  const t = {
    worker: md.worker ?? '',
    queued: ms(md.queuedTimestamp),
    workerStart: ms(md.workerStartTimestamp),
    executionStart: ms(md.executionStartTimestamp),
    executionEnd: ms(md.executionCompletedTimestamp),
    workerEnd: ms(md.workerCompletedTimestamp),
  };
  return Object.values(t).some((v) => typeof v === 'number' && Number.isNaN(v)) ? undefined : t;
}

/**
 * Dispatch latency of each job: from the moment it could have started (it was queued and its worker had finished
 * the previous job) to the moment the worker started it. Computed per worker name, for one-slot workers (each
 * worker process of `npm start` has one slot). This is the scheduler's and the worker protocol's share of a job's
 * time; waiting for a busy pool is not in it.
 */
export function dispatchLatencies(jobs: JobTimings[]): number[] {
  const byWorker = new Map<string, JobTimings[]>();
  for (const j of jobs) byWorker.set(j.worker, [...(byWorker.get(j.worker) ?? []), j]);
  const out: number[] = [];
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.workerStart - b.workerStart);
    list.forEach((j, i) => out.push(j.workerStart - Math.max(j.queued, i > 0 ? list[i - 1].workerEnd : -Infinity)));
  }
  return out;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
