// A bounded copy of a body streaming past, kept as bytes (BodyCapture keeps
// text): a compressed body must be inflated before it can be read, which
// needs the bytes. Only the kept prefix is copied; every byte is counted.

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
    // A copy: the capture must not pin the parser's (possibly large) read buffer.
    this.chunks.push(Buffer.from(chunk.subarray(0, take)));
    this.kept += take;
  }

  buffer(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.kept)];
    return this.chunks[0];
  }
}
