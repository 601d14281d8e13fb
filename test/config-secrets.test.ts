// A refused setting is named with what is wrong; the value of a secret
// setting (or of a URL that may carry a password) is never repeated, since
// the error line ends up in terminals, CI logs and log collectors.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ KEYRELAY_DATA_DIR: '/tmp/keyrelay-config-secrets', ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('config errors and secrets', () => {
  it.each([
    ['KEYRELAY_SECRET', 'hunter2-secret'],
    ['KEYRELAY_ADMIN_TOKEN', 'short-admin-tok'],
  ])('a too-short %s says its length, not its value', (name, value) => {
    const message = refusal({ [name]: value });
    expect(message).toBe(`invalid ${name}: must be at least 16 characters (got ${value.length} characters; the value is secret and not shown)`);
    expect(message).not.toContain(value);
  });

  it.each([
    ['KEYRELAY_REDIS_URL', 'redisuser:s3cretpass@cache:6379', { DATABASE_URL: 'postgresql://u@127.0.0.1/db' }],
    ['KEYRELAY_REDIS_URL', 'not a url s3cretpass', { DATABASE_URL: 'postgresql://u@127.0.0.1/db' }],
    ['KEYRELAY_SMTP_URL', 'mailer:s3cretpass@mail:587', {}],
    ['KEYRELAY_SMTP_URL', 'http://mailer:s3cretpass@mail:587', {}],
    ['DATABASE_URL', 'dbuser:s3cretpass@db:5432/keyrelay', {}],
    ['DATABASE_URL', 's3cretpass', {}],
    ['DATABASE_URL', 'postgres://dbuser:s3cretpass@db:bad-port/keyrelay', {}],
  ])('a bad %s (%s) is refused without its password', (name, value, extra) => {
    const message = refusal({ ...extra, [name]: value });
    expect(message.startsWith(`invalid ${name}: `)).toBe(true);
    expect(message).not.toContain('s3cretpass');
    expect(message).not.toMatch(/redisuser|mailer|dbuser/);
  });

  it('a plain scheme is still named, as the hint it is', () => {
    expect(refusal({ DATABASE_URL: 'mysql://u:s3cretpass@db/x' })).toBe('invalid DATABASE_URL: unsupported database "mysql": use file:<path> (SQLite) or postgresql://…');
    expect(refusal({ DATABASE_URL: 'postgresql://u@127.0.0.1/db', KEYRELAY_REDIS_URL: 'http://u:s3cretpass@cache:6379' })).toBe(
      'invalid KEYRELAY_REDIS_URL: must start with redis:// or rediss:// (got http://)',
    );
  });

  it('a setting that is not secret still shows the value it got', () => {
    expect(refusal({ PORT: 'eighty' })).toContain('(got "eighty")');
  });
});
