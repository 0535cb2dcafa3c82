import { REv2 } from '../proto';
import { wantedOutputProperties } from '../worker/node-properties';
import { outputPathComponents } from '../worker/path-safety';

/**
 * What Execute refuses up front with INVALID_ARGUMENT, rather than queueing an action no worker can run:
 * - output paths (`output_paths`, or when it is empty the deprecated `output_files` and `output_directories`, which the
 *   spec says are then ignored) that are absolute, end in '/', or leave the input root from `working_directory`;
 * - `output_node_properties` naming anything but the NodeProperties fields workers report (mtime, unix_mode).
 */
export function validateCommand(command: REv2.ICommand): void {
  const wd = command.workingDirectory ?? '';
  const modern = (command.outputPaths ?? []).length > 0;
  const lists: [string, string[]][] = modern ? [['output_paths', command.outputPaths!]] : [['output_files', command.outputFiles ?? []], ['output_directories', command.outputDirectories ?? []]];
  for (const [field, paths] of lists) for (const p of paths) outputPathComponents(p, wd, `${field} entry`);
  wantedOutputProperties(command);
}
