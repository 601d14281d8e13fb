// Micro-benchmark (in-process, one core): CPU per streamed response for the
// proxy's own SSE scanner against eventsource-parser doing the same job (find
// the usage report and any error event), over a realistic OpenAI-style chat
// stream cut into network-sized chunks. Not part of `npm run bench`.
// Run: npm run -s build && node bench/sse-parsers.mjs [eventsource-parser entry]
import { createRequire } from 'node:module';
import { SseScanner } from '../dist/inspect/sse.js';
import { mergeUsage, readUsageReport } from '../dist/inspect/usage.js';

const EVENTS = 400;
const ROUNDS = 2000;

function chatStream() {
  const events = [];
  for (let i = 0; i < EVENTS; i++) {
    events.push(`data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"token ${i} "},"finish_reason":null}]}\n\n`);
  }
  events.push('data: {"id":"chatcmpl-123","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":400,"total_tokens":412}}\n\n', 'data: [DONE]\n\n');
  const text = Buffer.from(events.join(''));
  // Chunks of 200-1,400 bytes, as a TLS-terminated upstream delivers them (deterministic).
  const chunks = [];
  let seed = 7;
  for (let at = 0; at < text.length; ) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const size = 200 + (seed % 1200);
    chunks.push(text.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const own = (chunks) => {
  const scanner = new SseScanner();
  for (const chunk of chunks) scanner.push(chunk);
  return scanner.usage;
};

function library(entry) {
  const { createParser } = createRequire(import.meta.url)(entry);
  return (chunks) => {
    let usage = null;
    let sawError = false;
    const decoder = new TextDecoder();
    const parser = createParser({
      onEvent(event) {
        // The scanner's shortcut: JSON-parse only what may carry usage or an error.
        if (event.event === 'error' || event.data.includes('"error"')) sawError = true;
        if (event.data.includes('"usage"')) {
          const report = readUsageReport(JSON.parse(event.data));
          if (report) usage = mergeUsage(usage, report);
        }
      },
    });
    for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
    return sawError ? null : usage;
  };
}

function measure(name, parse, chunks) {
  for (let i = 0; i < 200; i++) parse(chunks);
  const start = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) parse(chunks);
  const used = process.cpuUsage(start);
  const perStream = (used.user + used.system) / ROUNDS;
  console.log(`${name}: ${perStream.toFixed(1)} µs CPU per stream (${EVENTS} events, ${chunks.length} chunks)`);
  return perStream;
}

const chunks = chatStream();
const check = [own(chunks), library(process.argv[2] ?? 'eventsource-parser')(chunks)];
if (JSON.stringify(check[0]) !== JSON.stringify(check[1])) throw new Error(`the parsers disagree: ${JSON.stringify(check)}`);
for (let round = 0; round < 3; round++) {
  const a = measure('own SseScanner     ', own, chunks);
  const b = measure('eventsource-parser ', library(process.argv[2] ?? 'eventsource-parser'), chunks);
  console.log(`  eventsource-parser / own: ${(b / a).toFixed(2)}`);
}
