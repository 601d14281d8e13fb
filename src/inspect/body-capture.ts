// Keeps a bounded prefix of a body that streams past. The proxy pushes every
// chunk it forwards; only the kept bytes are copied (the chunk itself goes on to
// the client and may be large), and every byte is counted.

export class BodyCapture {
  /** Every byte pushed, kept or not. */
  bytes = 0;
  /** True once a byte did not fit. */
  truncated = false;
  readonly maxBytes: number;
  #chunks: Buffer[] = [];
  #kept = 0;
  #text: string | null = null;

  constructor(maxBytes: number) {
    this.maxBytes = Math.max(0, Math.floor(maxBytes));
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    const room = this.maxBytes - this.#kept;
    if (chunk.length > room) this.truncated = true;
    const take = Math.min(room, chunk.length);
    if (take <= 0) return;
    // A copy, so the capture neither pins the caller's (possibly pooled) buffer nor sees it reused.
    this.#chunks.push(Buffer.from(chunk.subarray(0, take)));
    this.#kept += take;
    this.#text = null;
  }

  /**
   * UTF-8 text of the kept prefix. A trailing incomplete multibyte sequence is
   * dropped (it is our cut or a chunk boundary), so no U+FFFD is invented there.
   */
  text(): string {
    if (this.#text !== null) return this.#text;
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#kept)];
    const kept = this.#chunks[0];
    this.#text = kept === undefined ? '' : kept.toString('utf8', 0, completeUtf8Length(kept));
    return this.#text;
  }
}

/** Length of `buf` without a trailing incomplete UTF-8 sequence. */
export function completeUtf8Length(buf: Buffer): number {
  const end = buf.length;
  // A sequence is at most 4 bytes, so its lead byte is within the last 4.
  for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
    const byte = buf[i];
    if (byte < 0x80) return end; // ASCII: nothing pending
    if (byte >= 0xc0) {
      const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return i + need > end ? i : end;
    }
    // 0x80-0xbf: continuation byte, keep looking for its lead
  }
  return end;
}
