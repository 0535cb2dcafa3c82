import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Digest } from '../digest/digest';
import { unary } from '../grpc/handlers';
import { Code, StatusError } from '../grpc/status-error';
import { REv2 } from '../proto';
import { inlineOutputs, InlineRequest } from './inline-outputs';
import { Instances } from './instance';
import { requestMetadata } from './request-metadata';
import { CacheHitObserver } from './submitted-action';
import { validateActionResult } from './validate-action-result';

export interface ActionCacheServiceOptions {
  updateEnabled: boolean;
  /** Total bytes GetActionResult may inline (stdout, stderr, output files). */
  maxInlineBytes: number;
  /** Sees each hit (the dashboard counts them per build). */
  onHit?: CacheHitObserver;
}

export function actionCacheService(instances: Instances, options: ActionCacheServiceOptions, logger: Logger): UntypedServiceImplementation {
  return {
    getActionResult: unary(logger, 'GetActionResult', async (req: REv2.GetActionResultRequest, call) => {
      const { inst, fn } = instances.request(req.instanceName, req.digestFunction, req.actionDigest?.hash);
      const digest = Digest.fromProto(req.actionDigest, fn, 'action_digest');
      const result = await inst.ac.get(digest);
      if (!result) throw new StatusError(Code.NOT_FOUND, `no action result for ${digest}`);
      if (options.onHit) {
        const metadata = requestMetadata(call.metadata);
        options.onHit({ invocationId: metadata?.toolInvocationId ?? '', instanceName: inst.name, actionDigest: digest.toString(), metadata });
      }
      return inlineOutputs(inst.cas, fn, result, req as InlineRequest, options.maxInlineBytes);
    }),

    updateActionResult: unary(logger, 'UpdateActionResult', async (req: REv2.UpdateActionResultRequest) => {
      const { inst, fn } = instances.request(req.instanceName, req.digestFunction, req.actionDigest?.hash);
      if (!options.updateEnabled) throw new StatusError(Code.PERMISSION_DENIED, `instance "${inst.name}" does not accept action results from clients`);
      const digest = Digest.fromProto(req.actionDigest, fn, 'action_digest');
      if (!req.actionResult) throw new StatusError(Code.INVALID_ARGUMENT, 'action_result is missing');
      validateActionResult(req.actionResult, fn);
      await inst.ac.put(digest, req.actionResult);
      return req.actionResult;
    }),
  };
}
