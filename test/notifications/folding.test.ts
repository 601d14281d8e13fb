// Folding and channel validation as pure units: a fake clock for the interval,
// and the cross-field rules a stored channel must satisfy.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LiveChannel } from '../../src/notifications/channel-book.ts';
import { toChannelFields } from '../../src/notifications/channel-input.ts';
import { Folder } from '../../src/notifications/folding.ts';
import type { Notice } from '../../src/notifications/notice.ts';
import { UserInputError } from '../../src/errors.ts';

const channel: LiveChannel = { id: 'c1', name: 'c', kind: 'WEBHOOK', url: 'http://x', secret: null, emailTo: [], events: new Set(['KEY_DISABLED']), upstreamIds: new Set(), minIntervalMs: 1000, enabled: true };

function notice(keyId: string, reason = 'r'): Notice {
  return { event: 'KEY_DISABLED', upstream: { id: 'u', name: 'u' }, key: { id: keyId, name: keyId, fingerprint: '…0001' }, rule: null, status: 'DISABLED', reason, requestId: null, job: null, at: 0 };
}

afterEach(() => vi.useRealTimers());

describe('Folder', () => {
  it('sends the first notice of a subject at once, folds the rest, and sends one summary with the count when the interval is up', () => {
    vi.useFakeTimers();
    const sent: Array<[string, number]> = [];
    const folded: number[] = [];
    const folder = new Folder({ send: (_c, n, f) => sent.push([n.reason!, f]), folded: (_c, _n, f) => folded.push(f) }, () => channel, () => Date.now());
    folder.offer(channel, notice('k1', 'first'));
    for (let i = 0; i < 5; i++) folder.offer(channel, notice('k1', `more ${i}`));
    folder.offer(channel, notice('k2', 'other key'));
    expect(sent).toEqual([['first', 0], ['other key', 0]]);
    vi.advanceTimersByTime(999);
    expect(sent).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([['first', 0], ['other key', 0], ['more 4', 5]]);
    expect(folded).toEqual([5]);
    // The summary opened a new interval: a notice within it is folded, after it goes at once.
    folder.offer(channel, notice('k1', 'again'));
    expect(sent).toHaveLength(3);
    vi.advanceTimersByTime(1000);
    expect(sent.at(-1)).toEqual(['again', 1]);
    vi.advanceTimersByTime(5000);
    folder.offer(channel, notice('k1', 'later'));
    expect(sent.at(-1)).toEqual(['later', 0]);
    folder.stop();
  });

  it('with minIntervalSeconds 0 every notice goes out', () => {
    const sent: number[] = [];
    const eager = { ...channel, minIntervalMs: 0 };
    const folder = new Folder({ send: (_c, _n, f) => sent.push(f), folded: () => {} }, () => eager);
    for (let i = 0; i < 3; i++) folder.offer(eager, notice('k1'));
    expect(sent).toEqual([0, 0, 0]);
  });
});

describe('channel input', () => {
  const base = { name: 'mail', kind: 'EMAIL' as const, emailTo: ['a@example.test'], events: ['KEY_BANNED' as const] };

  it('refuses an EMAIL channel without SMTP configured, naming the setting', () => {
    for (const setting of ['KEYRELAY_SMTP_URL', 'KEYRELAY_SMTP_FROM']) {
      const error = (() => {
        try {
          toChannelFields(base, setting);
        } catch (e) {
          return e as UserInputError;
        }
      })();
      expect(error).toBeInstanceOf(UserInputError);
      expect(error!.message).toContain(setting);
      expect(error!.field).toBe('input.kind');
    }
    expect(toChannelFields(base, null)).toMatchObject({ kind: 'EMAIL', emailTo: ['a@example.test'], minIntervalSeconds: 300, enabled: true, url: null, secret: null });
  });

  it('keeps each kind to its own fields', () => {
    expect(() => toChannelFields({ ...base, url: 'http://x' }, null)).toThrow(/only WEBHOOK/);
    expect(() => toChannelFields({ name: 'w', kind: 'WEBHOOK', url: 'http://x', emailTo: ['a@example.test'], events: ['KEY_BANNED'] }, null)).toThrow(/only EMAIL/);
    expect(() => toChannelFields({ name: 'w', kind: 'WEBHOOK', url: 'http://x', secret: 'whsec_c2hvcnQ=', events: ['KEY_BANNED'] }, null)).toThrow(/24 to 64 bytes/);
  });
});

describe('KEYRELAY_SMTP_URL', () => {
  it('a bad value stops the start naming the setting, never repeating the value (it holds the password)', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config.ts');
    for (const url of ['not a url pass-xyz-123', 'http://u:pass-xyz-123@host']) {
      let error: unknown;
      try {
        loadConfig({ KEYRELAY_SMTP_URL: url });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^invalid KEYRELAY_SMTP_URL: /);
      expect((error as Error).message).not.toContain('pass-xyz-123');
    }
    expect(loadConfig({ KEYRELAY_SMTP_URL: 'smtp://u:p@127.0.0.1:2525' }).KEYRELAY_SMTP_URL).toBe('smtp://u:p@127.0.0.1:2525');
  });
});
