import { BitReader } from './bit-reader';
import { BitWriter } from './bit-writer';

/** One operand of a DEFINE_ABBREV. */
export type AbbrevOp =
  | { kind: 'literal'; value: number }
  | { kind: 'fixed'; width: number }
  | { kind: 'vbr'; width: number }
  | { kind: 'array' }
  | { kind: 'char6' }
  | { kind: 'blob' };

export type Abbrev = AbbrevOp[];

/** A record: its code and operands; `blob` holds a blob operand's bytes. */
export interface BitRecord {
  code: number;
  ops: number[];
  blob?: Buffer;
}

const ENCODINGS = { 1: 'fixed', 2: 'vbr', 3: 'array', 4: 'char6', 5: 'blob' } as const;
const CODES = { fixed: 1, vbr: 2, array: 3, char6: 4, blob: 5 } as const;
const CHAR6 = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._';
const CHAR6_INDEX: Record<number, number | undefined> = Object.fromEntries([...CHAR6].map((c, i) => [c.charCodeAt(0), i]));

export function readAbbrevDefinition(r: BitReader): Abbrev {
  const count = r.vbr(5);
  const ops: Abbrev = [];
  for (let i = 0; i < count; i++) {
    if (r.fixed(1)) {
      ops.push({ kind: 'literal', value: r.vbr(8) });
      continue;
    }
    const kind = ENCODINGS[r.fixed(3) as keyof typeof ENCODINGS];
    if (!kind) throw new Error(`bitcode: unknown abbreviation encoding at bit ${r.position}`);
    ops.push(kind === 'fixed' || kind === 'vbr' ? { kind, width: r.vbr(5) } : { kind });
  }
  return ops;
}

export function writeAbbrevDefinition(w: BitWriter, abbrev: Abbrev): void {
  w.vbr(abbrev.length, 5);
  for (const op of abbrev) {
    if (op.kind === 'literal') {
      w.fixed(1, 1);
      w.vbr(op.value, 8);
      continue;
    }
    w.fixed(0, 1);
    w.fixed(CODES[op.kind], 3);
    if (op.kind === 'fixed' || op.kind === 'vbr') w.vbr(op.width, 5);
  }
}

function readScalar(r: BitReader, op: AbbrevOp): number {
  switch (op.kind) {
    case 'literal':
      return op.value;
    case 'fixed':
      return op.width ? r.fixed(op.width) : 0;
    case 'vbr':
      return op.width ? r.vbr(op.width) : 0;
    case 'char6':
      return CHAR6.charCodeAt(r.fixed(6));
    default:
      throw new Error(`bitcode: ${op.kind} cannot be an array element`);
  }
}

export function readAbbreviatedRecord(r: BitReader, abbrev: Abbrev): BitRecord {
  const values: number[] = [];
  let blob: Buffer | undefined;
  for (let i = 0; i < abbrev.length; i++) {
    const op = abbrev[i];
    if (op.kind === 'array') {
      const elem = abbrev[++i];
      for (let n = r.vbr(6); n > 0; n--) values.push(readScalar(r, elem));
    } else if (op.kind === 'blob') {
      const n = r.vbr(6);
      r.align32();
      blob = Buffer.from(r.bytes(n));
      r.align32();
    } else {
      values.push(readScalar(r, op));
    }
  }
  if (!values.length) throw new Error('bitcode: abbreviated record without a code');
  return { code: values[0], ops: values.slice(1), blob };
}

function fits(op: AbbrevOp, v: number): boolean {
  switch (op.kind) {
    case 'literal':
      return v === op.value;
    case 'fixed':
      return v < 2 ** op.width;
    case 'vbr':
      return op.width > 0 || v === 0;
    case 'char6':
      return CHAR6_INDEX[v] !== undefined;
    default:
      return false;
  }
}

/** Whether `abbrev` can encode `rec` exactly (a changed string may no longer fit a char6 array, say). */
export function encodable(abbrev: Abbrev, rec: BitRecord): boolean {
  const count = rec.ops.length + 1;
  const at = (v: number) => (v === 0 ? rec.code : rec.ops[v - 1]);
  let v = 0;
  for (let i = 0; i < abbrev.length; i++) {
    const op = abbrev[i];
    if (op.kind === 'array') {
      if (i + 2 !== abbrev.length || rec.blob) return false;
      for (; v < count; v++) if (!fits(abbrev[i + 1], at(v))) return false;
      return true;
    }
    if (op.kind === 'blob') return i + 1 === abbrev.length && v === count && !!rec.blob;
    if (v >= count || !fits(op, at(v++))) return false;
  }
  return v === count && !rec.blob;
}

function writeScalar(w: BitWriter, op: AbbrevOp, v: number): void {
  if (op.kind === 'fixed') w.fixed(v, op.width);
  else if (op.kind === 'vbr') w.vbr(v, op.width);
  else if (op.kind === 'char6') w.fixed(CHAR6_INDEX[v]!, 6);
}

/** Writes the record's operands with `abbrev` (check `encodable` first); the abbreviation id is written by the caller. */
export function writeAbbreviatedRecord(w: BitWriter, abbrev: Abbrev, rec: BitRecord): void {
  const count = rec.ops.length + 1;
  const at = (v: number) => (v === 0 ? rec.code : rec.ops[v - 1]);
  let v = 0;
  for (let i = 0; i < abbrev.length; i++) {
    const op = abbrev[i];
    if (op.kind === 'array') {
      const elem = abbrev[++i];
      w.vbr(count - v, 6);
      while (v < count) writeScalar(w, elem, at(v++));
    } else if (op.kind === 'blob') {
      w.vbr(rec.blob!.length, 6);
      w.align32();
      w.bytes(rec.blob!);
      w.align32();
    } else {
      writeScalar(w, op, at(v++));
    }
  }
}
