import { describe, expect, it } from 'vitest';
import { BodyCapture } from '../../src/inspect/body-capture.ts';

describe('BodyCapture', () => {
  it('keeps everything under the limit', () => {
    const capture = new BodyCapture(100);
    capture.push(Buffer.from('hello '));
    capture.push(Buffer.from('world'));
    expect(capture.text()).toBe('hello world');
    expect(capture.bytes).toBe(11);
    expect(capture.truncated).toBe(false);
  });

  it('keeps a bounded prefix, counts every byte and copies only what it keeps', () => {
    const capture = new BodyCapture(10);
    const big = Buffer.alloc(64 * 1024, 'a');
    capture.push(big);
    capture.push(Buffer.from('more'));
    big.fill('b'); // the caller may reuse its buffer
    expect(capture.text()).toBe('a'.repeat(10));
    expect(capture.bytes).toBe(64 * 1024 + 4);
    expect(capture.truncated).toBe(true);
  });

  it('is not truncated when the body fits exactly', () => {
    const capture = new BodyCapture(4);
    capture.push(Buffer.from('ab'));
    capture.push(Buffer.from('cd'));
    capture.push(Buffer.alloc(0));
    expect([capture.text(), capture.truncated]).toEqual(['abcd', false]);
  });

  it('drops a multibyte character cut at the limit instead of mangling it', () => {
    const text = 'a€😀é'; // 1 + 3 + 4 + 2 bytes
    const bytes = Buffer.from(text);
    const expected = ['', 'a', 'a', 'a', 'a€', 'a€', 'a€', 'a€', 'a€😀', 'a€😀', 'a€😀é'];
    for (let max = 0; max <= bytes.length; max++) {
      const capture = new BodyCapture(max);
      for (const byte of bytes) capture.push(Buffer.from([byte]));
      expect(capture.text(), `max ${max}`).toBe(expected[max]);
      expect(capture.truncated).toBe(max < bytes.length);
      expect(capture.text()).not.toContain('\uFFFD');
    }
  });

  it('keeps nothing with a zero limit', () => {
    const capture = new BodyCapture(0);
    capture.push(Buffer.from('x'));
    expect([capture.text(), capture.bytes, capture.truncated]).toEqual(['', 1, true]);
  });
});
