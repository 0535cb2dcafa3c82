import { REv2 } from '../proto';
import { durationMs, spanMs } from '../util/proto-time';
import { ActionTimings } from './scheduler-observer';

/** Where one run's time went: the scheduler's queue wait, then the spans of the worker's ExecutedActionMetadata. */
export function actionTimings(result: REv2.IActionResult | null | undefined, queueWaitMs: number | undefined): ActionTimings {
  const md = result?.executionMetadata;
  return {
    queueWaitMs,
    inputFetchMs: spanMs(md?.inputFetchStartTimestamp, md?.inputFetchCompletedTimestamp),
    executionMs: spanMs(md?.executionStartTimestamp, md?.executionCompletedTimestamp),
    outputUploadMs: spanMs(md?.outputUploadStartTimestamp, md?.outputUploadCompletedTimestamp),
    workerTotalMs: spanMs(md?.workerStartTimestamp, md?.workerCompletedTimestamp),
    workerStartAtMs: at(md?.workerStartTimestamp),
    inputFetchStartAtMs: at(md?.inputFetchStartTimestamp),
    inputFetchEndAtMs: at(md?.inputFetchCompletedTimestamp),
    executionStartAtMs: at(md?.executionStartTimestamp),
    executionEndAtMs: at(md?.executionCompletedTimestamp),
    outputUploadStartAtMs: at(md?.outputUploadStartTimestamp),
    outputUploadEndAtMs: at(md?.outputUploadCompletedTimestamp),
  };
}

function at(t: Parameters<typeof durationMs>[0]): number | undefined {
  return t ? durationMs(t) : undefined;
}
