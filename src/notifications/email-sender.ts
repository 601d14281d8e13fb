import nodemailer, { type Transporter } from 'nodemailer';
import { mailSubject, mailText, type NotificationPayload } from './notice.ts';
import { withRetries, type SendResult } from './retry.ts';

export interface SmtpSettings {
  url: string | undefined;
  from: string | undefined;
  timeoutMs: number;
  backoffMs: number;
  signal?: AbortSignal;
}

/** The setting an EMAIL channel still needs, or null when mail can be sent. */
export function missingSmtpSetting(s: Pick<SmtpSettings, 'url' | 'from'>): string | null {
  if (!s.url) return 'KEYRELAY_SMTP_URL';
  if (!s.from) return 'KEYRELAY_SMTP_FROM';
  return null;
}

/** Sends plain-text notification mails over one pooled SMTP transport (KEYRELAY_SMTP_URL). */
export class EmailSender {
  private transport: Transporter | null = null;

  constructor(private readonly s: SmtpSettings) {}

  private transporter(): Transporter {
    // The URL holds the SMTP password: it goes to nodemailer and nowhere else (no logger, no error text).
    this.transport ??= nodemailer.createTransport({
      url: this.s.url!,
      connectionTimeout: this.s.timeoutMs,
      greetingTimeout: this.s.timeoutMs,
      socketTimeout: this.s.timeoutMs,
      logger: false,
    });
    return this.transport;
  }

  send(to: string[], msgId: string, payload: NotificationPayload): Promise<SendResult> {
    const missing = missingSmtpSetting(this.s);
    if (missing) return Promise.resolve({ ok: false, attempts: 0, error: `${missing} is not set` });
    const mail = { from: this.s.from, to, subject: mailSubject(payload), text: mailText(payload), messageId: `<${msgId}@keyrelay>` };
    return withRetries(
      async () => {
        try {
          await this.transporter().sendMail(mail);
          return { ok: true, retryable: false, error: null };
        } catch (error) {
          const e = error as { responseCode?: number; code?: string };
          // SMTP 5xx is permanent (bad address, refused); 4xx and connection trouble are worth another try.
          const permanent = e.responseCode !== undefined && e.responseCode >= 500;
          return { ok: false, retryable: !permanent, error: e.responseCode ? `SMTP ${e.responseCode}` : (e.code ?? 'SMTP error') };
        }
      },
      { backoffMs: this.s.backoffMs, signal: this.s.signal },
    );
  }

  close(): void {
    this.transport?.close();
  }
}
