// The third-party API behind the proxies in the benchmark: answers JSON at
// once, or streams SSE events at a fixed interval. Run in its own process.
import { createServer } from 'node:http';

const body = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 },
});

const sizedCache = new Map();
function sized(size) {
  let payload = sizedCache.get(size);
  if (!payload) {
    const head = '{"id":"bench","usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16},"data":"';
    payload = Buffer.from(`${head}${'x'.repeat(Math.max(0, size - head.length - 2))}"}`);
    sizedCache.set(size, payload);
  }
  return payload;
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  req.resume();
  req.on('end', () => {
    if (url.includes('/bytes')) {
      // A JSON answer of about `size` bytes, for the scaling rows on response size.
      const size = Number(new URL(url, 'http://x').searchParams.get('size') ?? 1024);
      const payload = sized(size);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length });
      res.end(payload);
      return;
    }
    if (url.includes('/sse')) {
      const events = Number(new URL(url, 'http://x').searchParams.get('events') ?? 10);
      const interval = Number(new URL(url, 'http://x').searchParams.get('interval') ?? 10);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const tick = () => {
        if (i < events) {
          res.write(`data: {"i":${i++},"choices":[{"delta":{"content":"x"}}]}\n\n`);
          setTimeout(tick, interval);
        } else {
          res.end('data: [DONE]\n\n');
        }
      };
      tick();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
