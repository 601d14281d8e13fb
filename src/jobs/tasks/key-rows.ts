// Helpers shared by the key jobs. The jobs write through the raw SQL driver
// (one statement per row costs microseconds; a Prisma call costs hundreds),
// with the statements of keys/key-store.ts, the one writer of key state.
export { readBackEvents, toMs } from '../../keys/key-store.ts';

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
