import type { Logger } from 'pino';
import { Code } from '../grpc/status-error';
import { REv2, WorkerPb } from '../proto';
import { executeResponse } from '../scheduler/execute-response';
import { Task } from '../scheduler/task';
import { ResultSink } from '../scheduler/scheduler';
import { spanMs } from '../util/proto-time';
import { Instances } from './instance';

/**
 * Builds the ExecuteResponse from a worker's answer and caches it by policy: only a successful run
 * (status OK, exit code 0) of an action without do_not_cache is written to the AC. Failures are returned, never cached.
 */
export function executionResultSink(instances: Instances, logger: Logger): ResultSink {
  return async (e: Task, finished: WorkerPb.IExecutionFinished): Promise<REv2.ExecuteResponse> => {
    const status = finished.status ?? { code: Code.OK };
    const result = finished.result ?? undefined;
    const ok = (status.code ?? 0) === Code.OK;
    if (ok && result && (result.exitCode ?? 0) === 0 && !e.request.action.doNotCache) {
      await instances.internal(e.request.instanceName).ac.put(e.request.actionDigest, result);
    }
    const md = result?.executionMetadata;
    // (One line, no child logger: a child per action cost a bindings serialization each.)
    logger.info(
      {
        execution: e.id,
        action: e.request.actionDigest.toString(),
        mnemonic: e.request.mnemonic,
        code: Code[status.code ?? 0],
        exitCode: result?.exitCode,
        worker: md?.worker,
        inputFetchMs: spanMs(md?.inputFetchStartTimestamp, md?.inputFetchCompletedTimestamp),
        executionMs: spanMs(md?.executionStartTimestamp, md?.executionCompletedTimestamp),
      },
      'action completed',
    );
    return executeResponse(status, result);
  };
}
