/** Writes an LLVM bitstream (the inverse of BitReader): LSB-first fields, minimal VBR chunks. */
export class BitWriter {
  private buf = Buffer.alloc(4096);
  private bit = 0;

  get position(): number {
    return this.bit;
  }

  fixed(value: number, width: number): void {
    if (width > 32) throw new Error(`bitcode: fixed field of ${width} bits is wider than 32`);
    if (value >= 2 ** width) throw new Error(`bitcode: ${value} does not fit in ${width} bits`);
    this.grow(width);
    let rest = value;
    for (let done = 0; done < width; ) {
      const offset = this.bit & 7;
      const take = Math.min(8 - offset, width - done);
      const piece = rest % (1 << take);
      rest = (rest - piece) / (1 << take);
      this.buf[this.bit >>> 3] |= piece << offset;
      done += take;
      this.bit += take;
    }
  }

  vbr(value: number, width: number): void {
    const high = 2 ** (width - 1);
    for (;;) {
      const low = value % high;
      value = Math.floor(value / high);
      if (value === 0) return this.fixed(low, width);
      this.fixed(low + high, width);
    }
  }

  align32(): void {
    const to = Math.ceil(this.bit / 32) * 32;
    this.grow(to - this.bit);
    this.bit = to;
  }

  bytes(data: Buffer): void {
    if (this.bit % 8) throw new Error('bitcode: byte write at an unaligned position');
    this.grow(data.length * 8);
    data.copy(this.buf, this.bit / 8);
    this.bit += data.length * 8;
  }

  /** Overwrites a 32-bit little-endian word at a byte offset written earlier (block lengths). */
  patchWord(byteOffset: number, value: number): void {
    this.buf.writeUInt32LE(value, byteOffset);
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, Math.ceil(this.bit / 8)));
  }

  private grow(bits: number): void {
    const need = Math.ceil((this.bit + bits) / 8) + 4;
    if (need <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(need, this.buf.length * 2));
    this.buf.copy(next);
    this.buf = next;
  }
}
