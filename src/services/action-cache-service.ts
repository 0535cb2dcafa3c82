import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { unary } from '../grpc/handlers';
import { Code, StatusError } from '../grpc/status-error';
import { REv2 } from '../proto';
import { inlineOutputs, InlineRequest } from './inline-outputs';
import { Instances } from './instance';
import { validateActionResult } from './validate-action-result';

export interface ActionCacheServiceOptions {
  updateEnabled: boolean;
  /** Total bytes GetActionResult may inline (stdout, stderr, output files). */
  maxInlineBytes: number;
}

export function actionCacheService(instances: Instances, options: ActionCacheServiceOptions, logger: Logger): UntypedServiceImplementation {
  return {
    getActionResult: unary(logger, 'GetActionResult', async (req: REv2.GetActionResultRequest) => {
      const inst = instances.get(req.instanceName, req.digestFunction);
      const digest = instances.digest(inst, req.actionDigest, 'action_digest');
      const result = await inst.ac.get(digest);
      if (!result) throw new StatusError(Code.NOT_FOUND, `no action result for ${digest}`);
      return inlineOutputs(inst.cas, inst.digestFunction, result, req as InlineRequest, options.maxInlineBytes);
    }),

    updateActionResult: unary(logger, 'UpdateActionResult', async (req: REv2.UpdateActionResultRequest) => {
      const inst = instances.get(req.instanceName, req.digestFunction);
      if (!options.updateEnabled) throw new StatusError(Code.PERMISSION_DENIED, `instance "${inst.name}" does not accept action results from clients`);
      const digest = instances.digest(inst, req.actionDigest, 'action_digest');
      if (!req.actionResult) throw new StatusError(Code.INVALID_ARGUMENT, 'action_result is missing');
      validateActionResult(req.actionResult, inst.digestFunction);
      await inst.ac.put(digest, req.actionResult);
      return req.actionResult;
    }),
  };
}
