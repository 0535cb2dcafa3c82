import type { BigIntStats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import Long from 'long';
import { invalidArgument } from '../grpc/status-error';
import { protobuf, re, REv2 } from '../proto';

/**
 * REAPI NodeProperties (v2.1+) as workers honour them: the `mtime` and `unix_mode` fields. String-based NodeProperty
 * entries have no meaning here: on inputs they are ignored (they are part of the digest, so they still keep cache
 * entries apart), and `output_node_properties` naming anything else gets INVALID_ARGUMENT, as the spec requires.
 */
export const SUPPORTED_NODE_PROPERTIES = ['mtime', 'unix_mode'] as const;

/** Which properties the Command wants reported on its outputs; absent or empty: none (results stay as before). */
export interface WantedProperties {
  mtime: boolean;
  unixMode: boolean;
}

export const NO_PROPERTIES: WantedProperties = { mtime: false, unixMode: false };

/** Reads `Command.output_node_properties`; INVALID_ARGUMENT names an unknown property and lists the known ones. */
export function wantedOutputProperties(command: REv2.ICommand): WantedProperties {
  const names = command.outputNodeProperties ?? [];
  for (const n of names) {
    if (!(SUPPORTED_NODE_PROPERTIES as readonly string[]).includes(n)) {
      throw invalidArgument(`output_node_properties lists ${JSON.stringify(n)}, which this server does not recognise; supported: ${SUPPORTED_NODE_PROPERTIES.join(', ')} (the NodeProperties fields; no string-based properties)`);
    }
  }
  return { mtime: names.includes('mtime'), unixMode: names.includes('unix_mode') };
}

/** The NodeProperties to report for an output node (lstat, so a symlink's own), or null when none are wanted. */
export function reportedProperties(st: BigIntStats, want: WantedProperties): REv2.NodeProperties | null {
  if (!want.mtime && !want.unixMode) return null;
  const ns = st.mtimeNs;
  return re.NodeProperties.create({
    mtime: want.mtime ? protobuf.Timestamp.create({ seconds: Long.fromString((ns / 1_000_000_000n).toString()), nanos: Number(ns % 1_000_000_000n) }) : null,
    unixMode: want.unixMode ? protobuf.UInt32Value.create({ value: Number(st.mode) & 0o7777 }) : null,
  });
}

export function lstatExact(p: string): Promise<BigIntStats> {
  return fsp.lstat(p, { bigint: true });
}

/** What an input node asks for, validated. `mtime` in seconds since the epoch (fractional: utimes takes a double). */
export interface InputProperties {
  mode?: number;
  mtime?: number;
}

const S_IFMT = 0o170000;
const TYPE_BITS = { file: 0o100000, directory: 0o040000, symlink: 0o120000 } as const;

/**
 * The input node's honoured properties, or undefined when it asks for none. unix_mode may carry the node's own file-type
 * bits (as st_mode does); setuid and setgid are refused, since inputs are root-owned and actions run as another user.
 * On a symlink only mtime is honoured (Linux has no lchmod; a symlink's mode is always 0777).
 */
export function inputProperties(np: REv2.INodeProperties | null | undefined, kind: keyof typeof TYPE_BITS, where: string): InputProperties | undefined {
  if (!np) return undefined;
  const out: InputProperties = {};
  if (np.unixMode && kind !== 'symlink') {
    let mode = np.unixMode.value ?? 0;
    if ((mode & S_IFMT) === TYPE_BITS[kind]) mode &= ~S_IFMT;
    if (mode & ~0o7777) throw invalidArgument(`unix_mode 0o${mode.toString(8)} of input ${kind} ${where} is not a permission mode (expected e.g. 0o755; file-type bits only for a ${kind})`);
    if (mode & 0o6000) throw invalidArgument(`unix_mode 0o${mode.toString(8)} of input ${kind} ${where} sets setuid/setgid, which workers never honour (inputs are root-owned; actions run as another user)`);
    out.mode = mode;
  }
  if (np.mtime) {
    const nanos = np.mtime.nanos ?? 0;
    if (nanos < 0 || nanos > 999_999_999) throw invalidArgument(`mtime of input ${kind} ${where} has nanos ${nanos} outside 0..999999999`);
    out.mtime = Long.fromValue(np.mtime.seconds ?? 0).toNumber() + nanos / 1e9;
  }
  return out.mode === undefined && out.mtime === undefined ? undefined : out;
}

/** Sets what was asked: mode first (chmod changes ctime, never mtime). */
export async function applyProperties(p: string, props: InputProperties, symlink = false): Promise<void> {
  if (props.mode !== undefined && !symlink) await fsp.chmod(p, props.mode);
  if (props.mtime !== undefined) await (symlink ? fsp.lutimes(p, props.mtime, props.mtime) : fsp.utimes(p, props.mtime, props.mtime));
}
