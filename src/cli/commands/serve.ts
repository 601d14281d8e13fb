// keyrelay serve: runs dist/main.js in a child node with the flags `npm start`
// uses (V8 reads them only at startup, so they cannot be set from here), passing
// SIGTERM/SIGINT on so the gateway drains as it does under npm start.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NODE_FLAGS = ['--max-semi-space-size=32', '--no-memory-reducer'];

export function serve(): Promise<number> {
  const main = fileURLToPath(new URL('../../main.js', import.meta.url));
  const child = spawn(process.execPath, [...NODE_FLAGS, main], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
