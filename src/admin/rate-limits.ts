// Admin writes of rate limits: validate (each problem a BAD_USER_INPUT naming
// its field), store, reload the in-memory limits, publish config:changed.

import { z } from 'zod';
import type { AdminDeps } from './deps.ts';
import { parseInput } from './validate.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import { RATE_LIMIT_SCOPES, type RateLimitScope } from '../ratelimit/limit-counter.ts';

const count = (max: number) => z.number().int().min(1, 'must be a positive whole number').max(max);

export const limitFields = {
  requests: count(1_000_000_000).nullish(),
  perSeconds: count(31 * 86_400).nullish(),
  concurrent: count(1_000_000).nullish(),
  tokensPerMinute: count(1_000_000_000_000).nullish(),
};

type LimitValues = { requests?: number | null; perSeconds?: number | null; concurrent?: number | null; tokensPerMinute?: number | null };

/** The checks across fields; `path` prefixes the field named in an error. */
export function checkLimitValues(v: LimitValues, ctx: z.RefinementCtx): void {
  if (v.requests == null && v.concurrent == null && v.tokensPerMinute == null) {
    ctx.addIssue({ code: 'custom', path: ['requests'], message: 'set at least one of requests (with perSeconds), concurrent or tokensPerMinute' });
  } else if (v.requests != null && v.perSeconds == null) {
    ctx.addIssue({ code: 'custom', path: ['perSeconds'], message: 'is required with requests (the window, in seconds)' });
  } else if (v.requests == null && v.perSeconds != null) {
    ctx.addIssue({ code: 'custom', path: ['requests'], message: 'is required with perSeconds' });
  }
}

const createSchema = z.object({ scope: z.enum(RATE_LIMIT_SCOPES), targetId: z.string().min(1, 'must not be empty').max(200), ...limitFields }).superRefine(checkLimitValues);
const updateSchema = z.object(limitFields);
const mergedSchema = z.object(limitFields).superRefine(checkLimitValues);

export function rateLimitAdmin(deps: AdminDeps) {
  const { prisma, state, events, log } = deps;

  async function changed(): Promise<void> {
    await state.limits.load();
    events.publish('config:changed', { kind: 'rateLimits' });
  }

  async function targetExists(scope: RateLimitScope, id: string): Promise<boolean> {
    const where = { where: { id }, select: { id: true } };
    if (scope === 'ACCESS_TOKEN') return (await prisma.accessToken.findUnique(where)) !== null;
    if (scope === 'UPSTREAM') return (await prisma.upstream.findUnique(where)) !== null;
    return (await prisma.apiKey.findUnique(where)) !== null;
  }

  return {
    async create(input: unknown) {
      const data = parseInput(createSchema, input);
      if (!(await targetExists(data.scope, data.targetId))) throw new UserInputError(`input.targetId: no ${data.scope.toLowerCase().replace('_', ' ')} with id ${data.targetId}`, 'input.targetId');
      const row = await prisma.rateLimit.create({ data: { scope: data.scope, targetId: data.targetId, requests: data.requests ?? null, perSeconds: data.perSeconds ?? null, concurrent: data.concurrent ?? null, tokensPerMinute: data.tokensPerMinute ?? null } });
      await changed();
      log.info({ rateLimitId: row.id, scope: row.scope, targetId: row.targetId }, 'rate limit created');
      return row;
    },
    /** Fields left out keep their value; null clears one (at least one limit must remain). */
    async update(id: string, input: unknown) {
      const patch = parseInput(updateSchema, input);
      const existing = await prisma.rateLimit.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no rate limit with id ${id}`, 'id');
      const merged = parseInput(mergedSchema, { requests: existing.requests, perSeconds: existing.perSeconds, concurrent: existing.concurrent, tokensPerMinute: existing.tokensPerMinute, ...definedOnly(patch) });
      const row = await prisma.rateLimit.update({ where: { id }, data: { requests: merged.requests ?? null, perSeconds: merged.perSeconds ?? null, concurrent: merged.concurrent ?? null, tokensPerMinute: merged.tokensPerMinute ?? null } });
      await changed();
      return row;
    },
    async remove(id: string) {
      const existing = await prisma.rateLimit.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no rate limit with id ${id}`, 'id');
      await prisma.rateLimit.delete({ where: { id } });
      await changed();
      return existing;
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
