// A bounded copy of a body streaming past, kept as bytes (BodyCapture keeps
// text): a compressed body must be inflated before it can be read, which
// needs the bytes. Only the kept prefix is referenced; every byte is counted.
// Chunks are kept as views, not copied: a capture lives only as long as its
// request (the log row keeps decoded text, never these bytes), so holding the
// parser's read buffers for that long costs less than copying every chunk.

export class ByteCapture {
  bytes = 0;
  truncated = false;
  private chunks: Buffer[] = [];
  private kept = 0;

  constructor(readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    const room = this.maxBytes - this.kept;
    if (chunk.length > room) this.truncated = true;
    const take = room < chunk.length ? room : chunk.length;
    if (take <= 0) return;
    this.chunks.push(take === chunk.length ? chunk : chunk.subarray(0, take));
    this.kept += take;
  }

  buffer(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.kept)];
    return this.chunks[0];
  }
}
