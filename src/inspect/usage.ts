// Token usage as the three API families report it:
//   OpenAI     usage { prompt_tokens, completion_tokens, total_tokens }
//              (Responses API: usage { input_tokens, output_tokens, total_tokens })
//   Anthropic  usage { input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens }
//              streamed as message_start.message.usage, then message_delta.usage
//   Gemini     usageMetadata { promptTokenCount, candidatesTokenCount, thoughtsTokenCount, totalTokenCount }
// Prompt tokens count every input token (Anthropic's cache reads and writes
// included, as OpenAI's prompt_tokens already does); completion tokens include
// reasoning/thinking tokens, matching OpenAI's completion_tokens.
import type { TokenUsage } from '../state/types.ts';

/** What one payload reports; a count the payload does not carry is undefined. */
export interface UsageReport {
  prompt?: number;
  completion?: number;
  total?: number;
}

type Json = Record<string, unknown>;

export function usageFromJson(body: unknown): TokenUsage | null {
  const report = readUsageReport(body);
  return report === null ? null : mergeUsage(null, report);
}

export function usageFromJsonText(text: string): TokenUsage | null {
  if (!text.includes('usage')) return null;
  try {
    return usageFromJson(JSON.parse(text));
  } catch {
    return null;
  }
}

/** The usage a response body (or one streamed event) reports, or null when it reports none. */
export function readUsageReport(body: unknown): UsageReport | null {
  if (!isObject(body)) return null;
  const usage = objectAt(body, 'usage') ?? objectAt(objectAt(body, 'message'), 'usage') ?? objectAt(objectAt(body, 'response'), 'usage');
  if (usage !== undefined) {
    const report: UsageReport =
      'prompt_tokens' in usage || 'completion_tokens' in usage
        ? { prompt: count(usage.prompt_tokens), completion: count(usage.completion_tokens), total: count(usage.total_tokens) }
        : {
            prompt: sum(usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens),
            completion: count(usage.output_tokens),
            total: count(usage.total_tokens),
          };
    return isEmpty(report) ? null : report;
  }
  const meta = objectAt(body, 'usageMetadata');
  if (meta === undefined) return null;
  const report: UsageReport = {
    prompt: count(meta.promptTokenCount),
    completion: sum(meta.candidatesTokenCount, meta.thoughtsTokenCount),
    total: count(meta.totalTokenCount),
  };
  return isEmpty(report) ? null : report;
}

/**
 * Folds a report into what is known so far. Streams report cumulative counts
 * (Anthropic sends input in message_start and the running output total in
 * message_delta; Gemini repeats usageMetadata), so a reported count replaces
 * the previous one and a missing count keeps it.
 */
export function mergeUsage(previous: TokenUsage | null, report: UsageReport): TokenUsage {
  const promptTokens = report.prompt ?? previous?.promptTokens ?? 0;
  const completionTokens = report.completion ?? previous?.completionTokens ?? 0;
  const totalTokens = report.total ?? promptTokens + completionTokens;
  return { promptTokens, completionTokens, totalTokens: Math.max(totalTokens, promptTokens + completionTokens) };
}

/**
 * For a streamed OpenAI-style chat request without `stream_options.include_usage`,
 * the body with `include_usage: true` added (so the final chunk carries usage);
 * null when the body needs no change or is not a JSON object.
 */
export function withStreamUsage(bodyText: string): string | null {
  if (!bodyText.includes('"stream"')) return null;
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return null;
  }
  if (!isObject(body) || body.stream !== true) return null;
  const options = body.stream_options;
  if (options === undefined) {
    // The common case: splice the field in and leave the client's bytes (number
    // precision, key order, duplicates) exactly as sent.
    const close = bodyText.lastIndexOf('}');
    return `${bodyText.slice(0, close)},"stream_options":{"include_usage":true}${bodyText.slice(close)}`;
  }
  if (options !== null && !isObject(options)) return null;
  if (options !== null && 'include_usage' in options) return null;
  return JSON.stringify({ ...body, stream_options: { ...options, include_usage: true } });
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(parent: Json | undefined, key: string): Json | undefined {
  const value = parent?.[key];
  return isObject(value) ? value : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Sum of the counts present; undefined when the first (main) one is missing. */
function sum(main: unknown, ...extra: unknown[]): number | undefined {
  let total = count(main);
  if (total === undefined) return undefined;
  for (const value of extra) total += count(value) ?? 0;
  return total;
}

function isEmpty(report: UsageReport): boolean {
  return report.prompt === undefined && report.completion === undefined && report.total === undefined;
}
