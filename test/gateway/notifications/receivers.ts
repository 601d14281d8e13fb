// Real receivers on loopback for the notification suites: an HTTP webhook
// receiver whose answers are scripted, and an SMTP server (smtp-server).
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedHook {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Emits `hook` (ReceivedHook). `script` holds the next answers (a status, or 'hang'); when empty it answers `fallback`. */
export class WebhookReceiver extends EventEmitter {
  url = '';
  hooks: ReceivedHook[] = [];
  script: Array<number | 'hang'> = [];
  fallback: number | 'hang' = 200;
  /** A fixed answer per path, ahead of the script. */
  byPath: Record<string, number | 'hang'> = {};
  /** Requests left unanswered on purpose. */
  hanging = new Set<ServerResponse>();
  private server: Server = createServer((req, res) => this.handle(req, res));

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      const hook = { path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') };
      this.hooks.push(hook);
      const answer = this.byPath[hook.path] ?? this.script.shift() ?? this.fallback;
      if (answer === 'hang') {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
      } else {
        res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'nope');
      }
      this.emit('hook', hook);
    });
  }

  /** Hooks received on `path`. */
  on_(path: string): ReceivedHook[] {
    return this.hooks.filter((h) => h.path === path);
  }

  /** Resolves once `n` hooks arrived on `path` (or rejects after `timeoutMs`). */
  async waitFor(path: string, n: number, timeoutMs = 20_000): Promise<ReceivedHook[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.on_(path).length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} hooks on ${path}, got ${this.on_(path).length}`);
      await Promise.race([once(this, 'hook'), new Promise((r) => setTimeout(r, left).unref())]);
    }
    return this.on_(path);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    this.server.close();
  }
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const r = new WebhookReceiver();
  await r.listen();
  return r;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** An SMTP server on loopback (no TLS, any login accepted) that keeps every message whole. */
export class MailReceiver extends EventEmitter {
  port = 0;
  mails: ReceivedMail[] = [];
  private readonly server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'test' }),
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        };
        this.mails.push(mail);
        callback();
        this.emit('mail', mail);
      });
    },
  });

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server.server, 'listening');
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  async waitFor(n: number, pred: (m: ReceivedMail) => boolean = () => true, timeoutMs = 20_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.mails.filter(pred).length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} mails, got ${this.mails.filter(pred).length}`);
      await Promise.race([once(this, 'mail'), new Promise((r) => setTimeout(r, left).unref())]);
    }
    return this.mails.filter(pred);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export async function startMailReceiver(): Promise<MailReceiver> {
  const m = new MailReceiver();
  await m.listen();
  return m;
}

/** The message as a person reads it: headers unfolded, encoded words and the quoted-printable body decoded. */
export function decodeMail(raw: string): string {
  const [head = '', ...rest] = raw.replace(/\r\n/g, '\n').split('\n\n');
  const headers = head
    .replace(/\r?\n[ \t]+/g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?Q\?([^?]*)\?=/gi, (_m, text: string) => decodeQp(text.replace(/_/g, ' ')));
  const body = rest.join('\n\n');
  return `${headers}\n\n${/quoted-printable/i.test(head) ? decodeQp(body.replace(/=\n/g, '')) : body}`;
}

function decodeQp(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
