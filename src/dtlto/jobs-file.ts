/**
 * The job description lld hands a ThinLTO distributor (https://llvm.org/docs/DTLTO.html): one backend compile per
 * job, run as `common.args + job.args`. Reserved entries: common.args[0] is the compiler, job.inputs[0] the
 * module's bitcode, job.inputs[1] its summary index, job.outputs[0] the native object.
 */
export interface JobsFile {
  common: { linkerOutput: string; args: string[]; inputs: string[] };
  jobs: BackendJob[];
}

export interface BackendJob {
  args: string[];
  inputs: string[];
  outputs: string[];
}

export class JobsFileError extends Error {}

export function parseJobsFile(text: string, source = 'the jobs file'): JobsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new JobsFileError(`${source} is not JSON: ${(err as Error).message}`);
  }
  const at = (where: string) => `${source}: ${where}`;
  const obj = (v: unknown, where: string) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new JobsFileError(at(`${where} must be an object`));
    return v as Record<string, unknown>;
  };
  const strings = (v: unknown, where: string, min: number) => {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) throw new JobsFileError(at(`${where} must be an array of non-empty strings`));
    if (v.length < min) throw new JobsFileError(at(`${where} needs at least ${min} entr${min === 1 ? 'y' : 'ies'}`));
    return v as string[];
  };
  const top = obj(raw, 'the top level');
  const common = obj(top.common, '"common"');
  if (!Array.isArray(top.jobs)) throw new JobsFileError(at('"jobs" must be an array'));
  return {
    common: {
      linkerOutput: typeof common.linker_output === 'string' ? common.linker_output : '',
      args: strings(common.args, 'common.args', 1),
      inputs: common.inputs === undefined ? [] : strings(common.inputs, 'common.inputs', 0),
    },
    jobs: top.jobs.map((j, i) => {
      const job = obj(j, `jobs[${i}]`);
      return {
        args: strings(job.args, `jobs[${i}].args`, 0),
        inputs: strings(job.inputs, `jobs[${i}].inputs`, 2),
        outputs: strings(job.outputs, `jobs[${i}].outputs`, 1),
      };
    }),
  };
}

/** A short, stable label for a job in logs: the primary output's file name. */
export function jobLabel(job: BackendJob): string {
  const out = job.outputs[0];
  return out.slice(out.lastIndexOf('/') + 1);
}
