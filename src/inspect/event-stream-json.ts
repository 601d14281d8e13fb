// Server-sent events (WHATWG HTML §9.2): events are separated by a blank line;
// an event's `data:` lines are joined with "\n"; lines starting with ":" are
// comments. OpenAI-style streams end with `data: [DONE]`, which is not JSON.

export function looksLikeEventStream(contentType: string | undefined, body: string | null): boolean {
  if (contentType?.toLowerCase().includes('text/event-stream')) return true;
  if (body === null) return false;
  const start = body.trimStart();
  return start.startsWith('data:') || start.startsWith('event:');
}

type Parse = (text: string) => { ok: true; value: unknown } | { ok: false };

function plainJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * The JSON payloads of a (possibly truncated) event stream, in order. Payloads
 * that are not JSON are skipped, so a cut-off last event is simply ignored.
 */
export function parseEventStreamJson(body: string, parseJson: Parse = plainJson): unknown[] {
  const payloads: unknown[] = [];
  let data: string[] = [];

  const dispatch = (): void => {
    if (data.length === 0) return;
    const joined = data.join('\n');
    data = [];
    if (joined.trim() === '[DONE]') return;
    const parsed = parseJson(joined);
    if (parsed.ok) {
      payloads.push(parsed.value);
      return;
    }
    // Some upstreams put one JSON document per data line without blank lines
    // between events; read those line by line rather than losing them.
    if (!joined.includes('\n')) return;
    for (const line of joined.split('\n')) {
      const single = parseJson(line);
      if (single.ok) payloads.push(single.value);
    }
  };

  for (const line of body.split(/\r\n|\r|\n/)) {
    if (line === '') {
      dispatch();
    } else if (line.startsWith('data:')) {
      const value = line.slice(5);
      data.push(value.startsWith(' ') ? value.slice(1) : value);
    }
  }
  dispatch();
  return payloads;
}
