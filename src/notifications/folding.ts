import type { LiveChannel } from './channel-book.ts';
import { subjectOf, type Notice } from './notice.ts';

interface Window {
  channelId: string;
  subject: string;
  sentAt: number;
  folded: number;
  firstFoldAt: number;
  latest: Notice | null;
  timer: NodeJS.Timeout | null;
}

export interface FoldSink {
  /** Send this notice now; `folded` more of its subject were held back since the last one. */
  send(channel: LiveChannel, notice: Notice, folded: number): void;
  /** A window closed having held back `folded` notices (recorded as one FOLDED delivery). */
  folded(channel: LiveChannel, notice: Notice, folded: number, since: number): void;
}

/**
 * No storms: per channel and subject, one notification per minimum interval.
 * What arrives meanwhile is counted; when the interval is up, one more goes
 * out carrying the latest notice and how many were folded into it. Memory
 * holds one small record per (channel, subject) seen within an interval.
 */
export class Folder {
  private readonly windows = new Map<string, Window>();
  /** Prune when the map grows past this; doubled after a prune that kept most, so a storm of subjects stays O(1) amortised. */
  private pruneAt = 1000;

  constructor(private readonly sink: FoldSink, private readonly channelOf: (id: string) => LiveChannel | undefined, private readonly now: () => number = Date.now) {}

  offer(channel: LiveChannel, notice: Notice): void {
    const subject = subjectOf(notice);
    const id = `${channel.id}|${subject}`;
    const at = this.now();
    const w = this.windows.get(id);
    if (!w || (w.folded === 0 && at - w.sentAt >= channel.minIntervalMs)) {
      this.open(id, channel.id, subject, at);
      this.sink.send(channel, notice, 0);
      return;
    }
    if (w.folded === 0) w.firstFoldAt = at;
    w.folded++;
    w.latest = notice;
    w.timer ??= setTimeout(() => this.close(id), Math.max(0, w.sentAt + channel.minIntervalMs - at)).unref();
  }

  private open(id: string, channelId: string, subject: string, at: number): void {
    const previous = this.windows.get(id);
    if (previous?.timer) clearTimeout(previous.timer);
    this.windows.set(id, { channelId, subject, sentAt: at, folded: 0, firstFoldAt: 0, latest: null, timer: null });
    if (this.windows.size > this.pruneAt) {
      this.prune(at);
      this.pruneAt = Math.max(1000, this.windows.size * 2);
    }
  }

  private close(id: string): void {
    const w = this.windows.get(id);
    if (!w) return;
    w.timer = null;
    const channel = this.channelOf(w.channelId);
    if (!channel || !channel.enabled || !w.latest || w.folded === 0) {
      this.windows.delete(id);
      return;
    }
    const { latest, folded, firstFoldAt } = w;
    this.open(id, w.channelId, w.subject, this.now());
    this.sink.folded(channel, latest, folded, firstFoldAt);
    this.sink.send(channel, latest, folded);
  }

  /** Drops windows whose interval is long over and that hold nothing back. */
  private prune(at: number): void {
    for (const [id, w] of this.windows) {
      const channel = this.channelOf(w.channelId);
      if (w.folded === 0 && (!channel || at - w.sentAt >= channel.minIntervalMs)) this.windows.delete(id);
    }
  }

  stop(): void {
    for (const w of this.windows.values()) if (w.timer) clearTimeout(w.timer);
    this.windows.clear();
  }
}
