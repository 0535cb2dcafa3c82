import { BitRecord } from './abbrev';

/** Record codes of GLOBALVAL_SUMMARY_BLOCK in a combined (per-job) index (llvm/Bitcode/LLVMBitCodes.h). */
const FS_COMBINED_PROFILE = 5;
const FS_COMBINED_GLOBALVAR_INIT_REFS = 6;
const FS_VERSION = 10;
const FS_VALUE_GUID = 16;
const FS_FLAGS = 20;
const KNOWN = new Set([FS_COMBINED_PROFILE, FS_COMBINED_GLOBALVAR_INIT_REFS, FS_VERSION, FS_VALUE_GUID, FS_FLAGS]);

/** A record as it was read, with the abbreviation it was written with (3: unabbreviated). */
export interface SummaryRecord {
  abbrevId: number;
  rec: BitRecord;
}

/**
 * The summary block's records in a canonical order with canonical value ids, or undefined when the block holds a
 * record kind this does not know (the caller then keeps the block as it was: still correct, only less cacheable).
 *
 * lld numbers the values of a job's index, and orders its summary records, by hash-table order over module paths
 * that contain lld's PID; so the same link writes differently numbered, equivalent indexes each time. Here value
 * ids are reassigned in GUID order (reusing the same set of ids), every reference is renamed, and records are sorted
 * by (value id, module id): equal summaries give equal bytes.
 */
export function canonicalSummary(records: SummaryRecord[]): SummaryRecord[] | undefined {
  if (records.some((r) => !KNOWN.has(r.rec.code) || r.rec.blob)) return undefined;
  const guids = records.filter((r) => r.rec.code === FS_VALUE_GUID);
  if (guids.some((g) => g.rec.ops.length < 2)) return undefined;
  const oldIds = guids.map((g) => g.rec.ops[0]).sort((a, b) => a - b);
  if (new Set(oldIds).size !== oldIds.length) return undefined;
  const byGuid = [...guids].sort((a, b) => compareOps(a.rec.ops, b.rec.ops, 1));
  const renumber = new Map(byGuid.map((g, i) => [g.rec.ops[0], oldIds[i]]));
  const id = (v: number) => {
    const n = renumber.get(v);
    if (n === undefined) throw new UnknownValue();
    return n;
  };
  try {
    const out = records.map((r) => ({ abbrevId: r.abbrevId, rec: { ...r.rec, ops: remap(r.rec, id) } }));
    const head = out.filter((r) => r.rec.code === FS_VERSION || r.rec.code === FS_FLAGS);
    const values = out.filter((r) => r.rec.code === FS_VALUE_GUID).sort((a, b) => a.rec.ops[0] - b.rec.ops[0]);
    const summaries = out.filter((r) => r.rec.code === FS_COMBINED_PROFILE || r.rec.code === FS_COMBINED_GLOBALVAR_INIT_REFS).sort((a, b) => a.rec.ops[0] - b.rec.ops[0] || a.rec.ops[1] - b.rec.ops[1] || compareOps(a.rec.ops, b.rec.ops, 2));
    // VERSION and FLAGS lead, the value table precedes the summaries that refer to it, as LLVM writes them.
    const firstValue = records.findIndex((r) => r.rec.code === FS_VALUE_GUID);
    if (firstValue >= 0 && records.slice(firstValue).some((r) => r.rec.code === FS_VERSION || r.rec.code === FS_FLAGS)) return undefined;
    return [...head, ...values, ...summaries];
  } catch (err) {
    if (err instanceof UnknownValue) return undefined;
    throw err;
  }
}

class UnknownValue extends Error {}

/** The record's operands with every value id renamed. */
function remap(rec: BitRecord, id: (v: number) => number): number[] {
  const o = rec.ops;
  switch (rec.code) {
    case FS_VALUE_GUID:
      return [id(o[0]), ...o.slice(1)];
    case FS_COMBINED_GLOBALVAR_INIT_REFS: // [valueid, modid, flags, varflags, refs...]
      if (o.length < 4) throw new UnknownValue();
      return [id(o[0]), o[1], o[2], o[3], ...o.slice(4).map(id)];
    case FS_COMBINED_PROFILE: {
      // [valueid, modid, flags, instcount, fflags, entrycount, numrefs, rorefcnt, worefcnt, refs..., (callee, hotness)...]
      const refs = o[6];
      if (o.length < 9 || 9 + refs > o.length || (o.length - 9 - refs) % 2) throw new UnknownValue();
      const calls = o.slice(9 + refs).map((v, i) => (i % 2 === 0 ? id(v) : v));
      return [id(o[0]), ...o.slice(1, 9), ...o.slice(9, 9 + refs).map(id), ...calls];
    }
    default:
      return o;
  }
}

/** Lexicographic order of the operands from `from` on. */
function compareOps(a: number[], b: number[], from: number): number {
  for (let i = from; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
