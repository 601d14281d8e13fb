import { builder } from '../builder.ts';
import type { KeyCounts } from '../../admin/key-counts.ts';

export const KeyCountsType = builder.objectRef<KeyCounts>('KeyCounts').implement({
  description: "Keys by status, from the gateway's in-memory state (no database query).",
  fields: (t) => ({
    total: t.exposeInt('total'),
    active: t.exposeInt('active'),
    disabled: t.exposeInt('disabled'),
    banned: t.exposeInt('banned'),
    exhausted: t.exposeInt('exhausted'),
  }),
});
