// Text of a captured body for logs, rules and secret scrubbing. Compression
// passes through the proxy untouched, so a captured gzip/deflate/br body is
// inflated here, bounded (a small bomb cannot blow up memory), and only when
// the capture holds the whole body (a cut stream cannot be inflated).

import { brotliDecompressSync, gunzipSync, inflateSync, constants } from 'node:zlib';
import { completeUtf8Length } from './body-capture.ts';

/** The body as UTF-8 text (at most `maxBytes` of it), or null when it cannot be decoded. */
export function decodeBody(body: Buffer, contentEncoding: string | string[] | undefined, maxBytes: number): { text: string; truncated: boolean } | null {
  const encoding = (Array.isArray(contentEncoding) ? contentEncoding.join(',') : contentEncoding ?? '').trim().toLowerCase();
  let plain = body;
  if (encoding !== '' && encoding !== 'identity') {
    // maxOutputLength makes zlib throw past the cap; allow one byte more to know it was cut.
    const limit = { maxOutputLength: Math.max(1, maxBytes + 1) };
    try {
      if (encoding === 'gzip' || encoding === 'x-gzip') plain = gunzipSync(body, { ...limit, finishFlush: constants.Z_SYNC_FLUSH });
      else if (encoding === 'deflate') plain = inflateSync(body, { ...limit, finishFlush: constants.Z_SYNC_FLUSH });
      else if (encoding === 'br') plain = brotliDecompressSync(body, limit);
      else return null;
    } catch {
      return null;
    }
  }
  const truncated = plain.length > maxBytes;
  const kept = truncated ? plain.subarray(0, maxBytes) : plain;
  return { text: kept.toString('utf8', 0, completeUtf8Length(kept)), truncated };
}
