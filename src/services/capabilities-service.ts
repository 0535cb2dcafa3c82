import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import Long from 'long';
import type { Logger } from 'pino';
import { ZSTD } from '../compression/compressor';
import { unary } from '../grpc/handlers';
import { re, REv2, semver } from '../proto';
import { acceptedFunctions, Instances } from './instance';
import { SUPPORTED_NODE_PROPERTIES } from '../worker/node-properties';

export interface CapabilitiesOptions {
  maxBatchTotalSizeBytes: number;
  execEnabled: (instance: string) => boolean;
  acUpdateEnabled: boolean;
}

export function capabilitiesService(instances: Instances, options: CapabilitiesOptions, logger: Logger): UntypedServiceImplementation {
  return {
    getCapabilities: unary(logger, 'GetCapabilities', async (req: REv2.GetCapabilitiesRequest) => {
      const inst = instances.get(req.instanceName);
      const fn = inst.digestFunction.id;
      const fns = acceptedFunctions(inst).map((f) => f.id);
      const priorities = re.PriorityCapabilities.create({ priorities: [{ minPriority: -1000, maxPriority: 1000 }] });
      return re.ServerCapabilities.create({
        cacheCapabilities: {
          digestFunctions: fns,
          actionCacheUpdateCapabilities: { updateEnabled: options.acUpdateEnabled },
          cachePriorityCapabilities: priorities,
          maxBatchTotalSizeBytes: Long.fromNumber(options.maxBatchTotalSizeBytes),
          symlinkAbsolutePathStrategy: re.SymlinkAbsolutePathStrategy.Value.DISALLOWED,
          supportedCompressors: [ZSTD],
          supportedBatchUpdateCompressors: [ZSTD],
        },
        executionCapabilities: {
          digestFunction: fn, // deprecated single value (Bazel ≤ 6 compares it with its own): the default
          digestFunctions: fns,
          execEnabled: options.execEnabled(inst.name),
          executionPriorityCapabilities: priorities,
          supportedNodeProperties: [...SUPPORTED_NODE_PROPERTIES],
        },
        lowApiVersion: semver.SemVer.create({ major: 2, minor: 0 }),
        highApiVersion: semver.SemVer.create({ major: 2, minor: 3 }),
      });
    }),
  };
}
