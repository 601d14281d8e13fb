// What start-up prints about the admin token, outside the structured log.
// A generated token is shown on the start that stores its hash, which
// happens only once the gateway is serving: a first start that fails (a
// taken port) stores nothing, and the next start shows a new token.

/** Recovery needs no database access: a configured token takes precedence over the stored hash. */
const RECOVER =
  'Lost it? Stop keyrelay and run `npx keyrelay admin-token reset` (prints a new one), or set KEYRELAY_ADMIN_TOKEN to a secret of your choice (16+ characters) and restart; while it is set, it is the admin token.';

export function adminTokenNotice(generated: string | null, configured: boolean): string {
  if (configured) return '';
  if (generated !== null) {
    return [
      '',
      '  keyrelay admin token (shown once, only its hash is stored: save it now):',
      '',
      `    ${generated}`,
      '',
      '  Send it as "Authorization: Bearer <token>" to /graphql, or paste it into GraphiQL at /graphql.',
      `  ${RECOVER}`,
      '',
      '',
    ].join('\n');
  }
  return `\n  keyrelay admin token: the one shown at the first start (only its hash is stored). ${RECOVER}\n\n`;
}
