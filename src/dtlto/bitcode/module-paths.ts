import { Abbrev, BitRecord, encodable, readAbbrevDefinition, readAbbreviatedRecord, writeAbbrevDefinition, writeAbbreviatedRecord } from './abbrev';
import { BitReader } from './bit-reader';
import { BitWriter } from './bit-writer';
import { canonicalSummary, SummaryRecord } from './summary-order';

const MAGIC = Buffer.from([0x42, 0x43, 0xc0, 0xde]); // 'BC' 0xC0DE
const BLOCKINFO = 0;
const MODULE_BLOCK = 8;
const MODULE_STRTAB_BLOCK = 19;
const GLOBALVAL_SUMMARY_BLOCK = 20;
const MST_CODE_ENTRY = 1;
const BLOCKINFO_CODE_SETBID = 1;
const [END_BLOCK, ENTER_SUBBLOCK, DEFINE_ABBREV, UNABBREV_RECORD] = [0, 1, 2, 3];

/**
 * The module paths of a ThinLTO summary index (lld's per-job `.thinlto.bc`): the MODULE_STRTAB entries naming
 * the job's own module and every module it imports from. clang's backend opens imported modules by these
 * paths, which lld writes as absolute paths with its PID in them.
 */
export function modulePaths(index: Buffer): string[] {
  const paths: string[] = [];
  transcode(index, (p) => (paths.push(p), p));
  return paths;
}

/**
 * A copy of the index with each module path replaced by `rename(path)`. Only MODULE_BLOCK and its
 * MODULE_STRTAB_BLOCK are re-encoded (with the same abbreviations, or unabbreviated when a new name does not fit
 * one); every other block is copied byte for byte, so the summaries are untouched.
 */
export function renameModulePaths(index: Buffer, rename: (path: string) => string): Buffer {
  return transcode(index, rename);
}

/**
 * The index as a function of what it means: module paths renamed, and the summary block's value numbering and
 * record order made canonical (see canonicalSummary), so that two links of the same program give equal bytes.
 */
export function canonicalIndex(index: Buffer, rename: (path: string) => string): Buffer {
  return transcode(index, rename, true);
}

function transcode(buf: Buffer, rename: (path: string) => string, canonical = false): Buffer {
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) throw new Error('not an LLVM bitcode file (no BC 0xC0DE magic)');
  const r = new BitReader(buf);
  const w = new BitWriter();
  w.bytes(r.bytes(4));
  const blockInfo = new Map<number, Abbrev[]>();
  while (!r.atEnd) {
    const id = r.fixed(2);
    if (id !== ENTER_SUBBLOCK) throw new Error(`bitcode: expected a block at the top level, found abbreviation ${id} at bit ${r.position - 2}`);
    w.fixed(id, 2);
    block(r, w, blockInfo, rename, canonical);
  }
  return w.finish();
}

/** Copies one block whose ENTER_SUBBLOCK id was just read and written. */
function block(r: BitReader, w: BitWriter, blockInfo: Map<number, Abbrev[]>, rename: (path: string) => string, canonical: boolean): void {
  const blockId = r.vbr(8);
  const width = r.vbr(4);
  r.align32();
  const words = r.fixed(32);
  w.vbr(blockId, 8);
  w.vbr(width, 4);
  w.align32();
  if (blockId === BLOCKINFO) readBlockInfo(new BitReader(r.bytes(words * 4)), width, blockInfo);
  if (canonical && blockId === GLOBALVAL_SUMMARY_BLOCK) return summaryBlock(r.bytes(words * 4), w, width, blockInfo.get(blockId) ?? []);
  if (blockId !== MODULE_BLOCK && blockId !== MODULE_STRTAB_BLOCK) {
    w.fixed(words, 32);
    w.bytes(r.bytes(words * 4));
    return;
  }
  const lengthAt = w.position / 8;
  w.fixed(0, 32);
  const start = w.position;
  const abbrevs = [...(blockInfo.get(blockId) ?? [])];
  for (;;) {
    const id = r.fixed(width);
    if (id <= DEFINE_ABBREV) w.fixed(id, width);
    if (id === END_BLOCK) {
      r.align32();
      w.align32();
      w.patchWord(lengthAt, (w.position - start) / 32);
      return;
    }
    if (id === ENTER_SUBBLOCK) {
      block(r, w, blockInfo, rename, canonical);
    } else if (id === DEFINE_ABBREV) {
      const abbrev = readAbbrevDefinition(r);
      abbrevs.push(abbrev);
      writeAbbrevDefinition(w, abbrev);
    } else {
      const abbrev = id === UNABBREV_RECORD ? undefined : abbrevs[id - 4];
      if (id !== UNABBREV_RECORD && !abbrev) throw new Error(`bitcode: undefined abbreviation ${id} in block ${blockId}`);
      const rec = abbrev ? readAbbreviatedRecord(r, abbrev) : readUnabbreviated(r);
      if (blockId === MODULE_STRTAB_BLOCK && rec.code === MST_CODE_ENTRY) renameEntry(rec, rename);
      writeRecord(w, width, abbrev, id, rec);
    }
  }
}

/**
 * Writes a summary block's body (length word first) in canonical form, or the original bytes when its layout is not
 * one LLVM writes (no sub-blocks) or holds records canonicalSummary does not know.
 */
function summaryBlock(body: Buffer, w: BitWriter, width: number, inherited: Abbrev[]): void {
  const verbatim = () => {
    w.fixed(body.length / 4, 32);
    w.bytes(body);
  };
  const r = new BitReader(body);
  const defined: Abbrev[] = [];
  const abbrevs = [...inherited];
  const records: SummaryRecord[] = [];
  for (;;) {
    const id = r.fixed(width);
    if (id === END_BLOCK) break;
    if (id === ENTER_SUBBLOCK) return verbatim();
    if (id === DEFINE_ABBREV) {
      defined.push(readAbbrevDefinition(r));
      abbrevs.push(defined[defined.length - 1]);
      continue;
    }
    const abbrev = abbrevs[id - 4];
    if (id !== UNABBREV_RECORD && !abbrev) throw new Error(`bitcode: undefined abbreviation ${id} in the summary block`);
    records.push({ abbrevId: id, rec: abbrev ? readAbbreviatedRecord(r, abbrev) : readUnabbreviated(r) });
  }
  const canonical = canonicalSummary(records);
  if (!canonical) return verbatim();
  const lengthAt = w.position / 8;
  w.fixed(0, 32);
  const start = w.position;
  // Abbreviation ids are positional: definitions go out in their order, each just before the first record using it.
  let emitted = 0;
  const defineUpTo = (n: number) => {
    for (; emitted < n; emitted++) {
      w.fixed(DEFINE_ABBREV, width);
      writeAbbrevDefinition(w, defined[emitted]);
    }
  };
  for (const { abbrevId, rec } of canonical) {
    if (abbrevId !== UNABBREV_RECORD) defineUpTo(abbrevId - 4 - inherited.length + 1);
    writeRecord(w, width, abbrevId === UNABBREV_RECORD ? undefined : abbrevs[abbrevId - 4], abbrevId, rec);
  }
  defineUpTo(defined.length);
  w.fixed(END_BLOCK, width);
  w.align32();
  w.patchWord(lengthAt, (w.position - start) / 32);
}

/** Writes a record with its abbreviation when it still fits, unabbreviated otherwise. */
function writeRecord(w: BitWriter, width: number, abbrev: Abbrev | undefined, id: number, rec: BitRecord): void {
  if (abbrev && encodable(abbrev, rec)) {
    w.fixed(id, width);
    writeAbbreviatedRecord(w, abbrev, rec);
  } else {
    w.fixed(UNABBREV_RECORD, width);
    writeUnabbreviated(w, rec);
  }
}

/** MST_CODE_ENTRY: [module id, path bytes...]. */
function renameEntry(rec: BitRecord, rename: (path: string) => string): void {
  const path = Buffer.from(rec.ops.slice(1)).toString('utf8');
  const renamed = rename(path);
  if (renamed !== path) rec.ops = [rec.ops[0], ...Buffer.from(renamed, 'utf8')];
}

function readUnabbreviated(r: BitReader): BitRecord {
  const code = r.vbr(6);
  const ops: number[] = [];
  for (let n = r.vbr(6); n > 0; n--) ops.push(r.vbr(6));
  return { code, ops };
}

function writeUnabbreviated(w: BitWriter, rec: BitRecord): void {
  if (rec.blob) throw new Error('bitcode: a blob record cannot be written unabbreviated');
  w.vbr(rec.code, 6);
  w.vbr(rec.ops.length, 6);
  for (const op of rec.ops) w.vbr(op, 6);
}

/** BLOCKINFO: SETBID records select a block id; DEFINE_ABBREVs that follow apply to every block of that id. */
function readBlockInfo(r: BitReader, width: number, blockInfo: Map<number, Abbrev[]>): void {
  let current: Abbrev[] | undefined;
  const abbrevs: Abbrev[] = [];
  while (!r.atEnd) {
    const id = r.fixed(width);
    if (id === END_BLOCK) return;
    if (id === ENTER_SUBBLOCK) throw new Error('bitcode: nested block inside BLOCKINFO');
    if (id === DEFINE_ABBREV) {
      if (!current) throw new Error('bitcode: BLOCKINFO abbreviation before SETBID');
      current.push(readAbbrevDefinition(r));
      continue;
    }
    const rec = id === UNABBREV_RECORD ? readUnabbreviated(r) : readAbbreviatedRecord(r, abbrevs[id - 4]);
    if (rec.code === BLOCKINFO_CODE_SETBID) {
      const target = rec.ops[0];
      current = blockInfo.get(target) ?? blockInfo.set(target, []).get(target)!;
    }
  }
}
