// Request time: run the upstream's header script for one attempt. A failure
// answers the client with 500 HEADER_SCRIPT_FAILED naming the upstream (the
// script's message, redacted, goes to the log row and the operational log,
// never to the client), before the key's quota is touched and without a retry.

import { clientErrorFor } from '../proxy/proxy-errors.ts';
import type { ProxyRequest } from '../proxy/proxy-request.ts';
import { sendError } from '../proxy/respond.ts';
import type { ApiKeyState } from '../state/types.ts';
import type { UpstreamScript } from './header-script.ts';
import { ScriptError } from './script-error.ts';
import type { ScriptHeaders } from './script-headers.ts';
import { scriptRequestJson, type ScriptRequestBase } from './script-request.ts';

/** The script's headers, or null when it failed and the client has been answered. */
export function applyHeaderScript(pr: ProxyRequest, script: UpstreamScript, base: ScriptRequestBase, key: ApiKeyState): ScriptHeaders | null {
  try {
    return script.run(scriptRequestJson(base, key, pr.attempts + 1, Date.now(), script.opts.canReadKey), key.secret);
  } catch (error) {
    const detail = error instanceof ScriptError ? error.describe() : 'the script sandbox failed';
    const kind = error instanceof ScriptError ? error.kind : 'throw';
    pr.outcome = 'script_failed';
    pr.error = `header script failed: ${detail}`;
    pr.log.warn({ upstream: script.upstream, kind, error: detail, attempt: pr.attempts + 1 }, 'header script failed');
    if (pr.clientGone) return null;
    const client = clientErrorFor('header_script', pr.attempts);
    pr.measureOverhead();
    sendError(pr, client.code, `${client.message} for upstream "${script.upstream}"`);
    return null;
  }
}
