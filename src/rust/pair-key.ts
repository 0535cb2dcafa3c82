import { createHash } from 'node:crypto';
import { REv2 } from '../proto';
import { ParamFile } from './param-file';
import { RustcCommand } from './rustc-command';

/**
 * The key a crate's RustcMetadata and Rustc actions share, or undefined when the action cannot be paired. Two actions
 * get the same key only if they run the same invocation (argv without the quit flag, same env, working directory and
 * platform), their param files have the same content, and everything else in their input roots is identical.
 */
export function pairKey(action: REv2.IAction, command: REv2.ICommand, rc: RustcCommand, params: ParamFile | undefined): string | undefined {
  // rules_rust pairs differ in their param file's name; actions without one (the Cargo wrapper's) share the whole root.
  if (!rc.pairArgv || !rc.rmetaPath || (rc.paramFile !== undefined && !params)) return undefined;
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      argv: rc.pairArgv,
      env: (command.environmentVariables ?? []).map((v) => [v.name, v.value]),
      cwd: command.workingDirectory ?? '',
      platform: (action.platform ?? command.platform)?.properties?.map((p) => [p.name, p.value]) ?? [],
      crate: rc.rmetaPath.replace(/\.rmeta$/, ''),
      params: params?.digest.toString() ?? '',
      inputs: params ? params.rootWithout.toString() : `${action.inputRootDigest?.hash}/${String(action.inputRootDigest?.sizeBytes ?? 0)}`,
      salt: Buffer.from(action.salt ?? []).toString('hex'),
    }),
  );
  return h.digest('hex');
}
