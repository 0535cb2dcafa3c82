/**
 * Reads an LLVM bitstream: fields are packed LSB-first into little-endian 32-bit words
 * (https://llvm.org/docs/BitCodeFormat.html). Values are JS numbers; a VBR value above 2^53 throws, since
 * nothing this package parses needs more (the blocks holding 64-bit GUIDs are copied, not parsed).
 */
export class BitReader {
  private bit = 0;

  constructor(private readonly buf: Buffer) {}

  get position(): number {
    return this.bit;
  }

  get atEnd(): boolean {
    return this.bit >= this.buf.length * 8;
  }

  fixed(width: number): number {
    if (width > 32) throw new Error(`bitcode: fixed field of ${width} bits is wider than 32`);
    if (this.bit + width > this.buf.length * 8) throw new Error(`bitcode: truncated at bit ${this.bit}`);
    let value = 0;
    let done = 0;
    while (done < width) {
      const offset = this.bit & 7;
      const take = Math.min(8 - offset, width - done);
      const piece = (this.buf[this.bit >>> 3] >>> offset) & ((1 << take) - 1);
      // Bitwise while the result fits 31 bits; the last piece of a 32-bit field is added arithmetically.
      value = done + take <= 31 ? value | (piece << done) : value + piece * 2 ** done;
      done += take;
      this.bit += take;
    }
    return value;
  }

  vbr(width: number): number {
    const high = 2 ** (width - 1);
    let value = 0;
    for (let shift = 0; ; shift += width - 1) {
      const chunk = this.fixed(width);
      value += (chunk % high) * 2 ** shift;
      if (value > Number.MAX_SAFE_INTEGER) throw new Error(`bitcode: VBR value at bit ${this.bit} exceeds 2^53`);
      if (chunk < high) return value;
    }
  }

  align32(): void {
    this.bit = Math.ceil(this.bit / 32) * 32;
  }

  /** Whole bytes from the current (byte-aligned) position. */
  bytes(n: number): Buffer {
    if (this.bit % 8) throw new Error('bitcode: byte read at an unaligned position');
    const start = this.bit / 8;
    if (start + n > this.buf.length) throw new Error(`bitcode: truncated at byte ${start}`);
    this.bit += n * 8;
    return this.buf.subarray(start, start + n);
  }
}
