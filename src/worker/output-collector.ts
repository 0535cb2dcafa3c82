import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BlobStore } from '../blobstore/blob-store';
import { DigestFunction } from '../digest/digest-function';
import { Code, invalidArgument, StatusError } from '../grpc/status-error';
import { re, REv2 } from '../proto';
import { digestFile, PendingBlob, uploadBlobs } from './blob-uploader';
import { buildOutputTree } from './output-tree-builder';
import { outputPathComponents, relativeComponents } from './path-safety';
import { lstatExact, NO_PROPERTIES, reportedProperties, WantedProperties } from './node-properties';

type Kind = 'any' | 'file' | 'directory';

export interface OutputSpec {
  /** As the Command names them: relative to the working directory. */
  path: string;
  /** Relative to the input root, validated not to leave it. */
  rootPath: string;
  kind: Kind;
}

export type CollectedOutputs = Pick<REv2.ActionResult, 'outputFiles' | 'outputDirectories' | 'outputSymlinks' | 'outputFileSymlinks' | 'outputDirectorySymlinks'>;

/** Finds, uploads and describes a command's outputs. */
export class OutputCollector {
  /**
   * `output_paths` when set (REAPI ≥ 2.1; the old fields are then ignored), else `output_files` and
   * `output_directories`. Throws INVALID_ARGUMENT for a path that would leave the input root.
   */
  specs(command: REv2.ICommand): OutputSpec[] {
    const wd = command.workingDirectory ?? '';
    const one = (p: string, kind: Kind): OutputSpec => {
      const rootPath = outputPathComponents(p, wd, 'output path').join('/');
      if (kind === 'file' && rootPath === relativeComponents(wd, 'working_directory').join('/')) throw invalidArgument(`output file ${JSON.stringify(p)} names the working directory itself`);
      return { path: p, rootPath, kind };
    };
    if ((command.outputPaths ?? []).length > 0) return command.outputPaths!.map((p) => one(p, 'any'));
    return [...(command.outputFiles ?? []).map((p) => one(p, 'file')), ...(command.outputDirectories ?? []).map((p) => one(p, 'directory'))];
  }

  /** Creates the parent directories of every output, as REAPI requires, before the command runs. */
  async prepare(root: string, specs: OutputSpec[]): Promise<void> {
    for (const s of specs) {
      const parent = path.dirname(path.join(root, s.rootPath));
      await fsp.mkdir(parent, { recursive: true });
      await this.checkInside(root, parent, s);
    }
  }

  /** Uploads every output that exists (absent outputs are simply not reported) and returns the result fields. */
  /** `wanted`: the NodeProperties `output_node_properties` asked for, set on every output node (Tree entries too). */
  async collect(store: BlobStore, fn: DigestFunction, root: string, specs: OutputSpec[], legacy: boolean, treeFormat: number, wanted: WantedProperties = NO_PROPERTIES): Promise<CollectedOutputs> {
    const result: CollectedOutputs = { outputFiles: [], outputDirectories: [], outputSymlinks: [], outputFileSymlinks: [], outputDirectorySymlinks: [] };
    const blobs: PendingBlob[] = [];
    for (const s of specs) {
      const abs = path.join(root, s.rootPath);
      if (!(await this.checkInside(root, path.dirname(abs), s))) continue;
      const st = await lstatExact(abs).catch(() => undefined);
      if (!st) continue;
      const nodeProperties = reportedProperties(st, wanted);
      // REAPI: an output_files entry found as a directory, or an output_directories entry found as a file, is FAILED_PRECONDITION.
      if ((s.kind === 'file' && st.isDirectory()) || (s.kind === 'directory' && st.isFile())) {
        const [is, field] = s.kind === 'file' ? ['a directory', 'output_files'] : ['a regular file', 'output_directories'];
        throw new StatusError(Code.FAILED_PRECONDITION, `output ${JSON.stringify(s.path)}, listed in ${field}, is ${is} after the command ran; declare it as what it is, or use output_paths`);
      }
      if (st.isSymbolicLink()) {
        const link = re.OutputSymlink.create({ path: s.path, target: await fsp.readlink(abs), nodeProperties });
        result.outputSymlinks.push(link);
        if (legacy) (s.kind === 'directory' ? result.outputDirectorySymlinks : result.outputFileSymlinks).push(link);
      } else if (st.isFile()) {
        const digest = await digestFile(abs, fn);
        blobs.push({ digest, file: abs });
        result.outputFiles.push(re.OutputFile.create({ path: s.path, digest: digest.toProto(), isExecutable: (Number(st.mode) & 0o100) !== 0, nodeProperties }));
      } else if (st.isDirectory()) {
        const built = await buildOutputTree(abs, fn, wanted);
        blobs.push(...built.blobs);
        const withRoot = treeFormat !== re.Command.OutputDirectoryFormat.TREE_ONLY;
        result.outputDirectories.push(re.OutputDirectory.create({ path: s.path, treeDigest: built.treeDigest.toProto(), rootDirectoryDigest: withRoot ? built.rootDigest.toProto() : null }));
      }
    }
    await uploadBlobs(store, blobs);
    return result;
  }

  /** False when the parent does not exist; INVALID_ARGUMENT when a symlink made it resolve outside the root. */
  private async checkInside(root: string, parent: string, s: OutputSpec): Promise<boolean> {
    const [realRoot, realParent] = await Promise.all([fsp.realpath(root), fsp.realpath(parent).catch(() => undefined)]);
    if (realParent === undefined) return false;
    if (realParent !== realRoot && !realParent.startsWith(realRoot + path.sep)) {
      throw invalidArgument(`output path ${JSON.stringify(s.path)} resolves outside the input root (through a symlink to ${JSON.stringify(realParent)})`);
    }
    return true;
  }
}
