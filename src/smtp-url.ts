/** What is wrong with KEYRELAY_SMTP_URL, without repeating it (it holds the password); null when it is usable or unset. */
export function smtpUrlProblem(url: string | undefined): string | null {
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a URL such as smtp://user:pass@host:587';
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') return 'must start with smtp:// or smtps://';
  if (!parsed.hostname) return 'must name a host';
  return null;
}
