import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/db/migrate.ts';

export interface MainProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the URL once the gateway logs that it is serving. */
  serving: Promise<string>;
  exited: Promise<number | null>;
}

/** Runs the built gateway (`node dist/main.js`) as a newcomer would, with the given environment. */
export function spawnMain(env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'main.js')], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const serving = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = /"url":"(http:[^"]+)","graphql".*"msg":"keyrelay is serving"/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before serving: ${err || out}`)));
  });
  serving.catch(() => {});
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, serving, exited };
}
