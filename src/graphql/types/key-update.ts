import { builder } from '../builder.ts';

const KeyChangesFields = {
  name: 'New display name; absent or null keeps it.',
  weight: 'New weight for WEIGHTED pools; absent or null keeps it. The pool uses it at once.',
  quota: 'Requests allowed per quota period; null makes the key unlimited, absent keeps it. Raising it above the count returns an EXHAUSTED key; lowering it to the count or below exhausts the key.',
};

const UpdateKeyInput = builder.inputType('UpdateKeyInput', {
  fields: (t) => ({
    name: t.string({ description: KeyChangesFields.name }),
    weight: t.int({ description: KeyChangesFields.weight }),
    quota: t.int({ description: KeyChangesFields.quota }),
  }),
});

const KeyUpdateInput = builder.inputType('KeyUpdateInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ description: KeyChangesFields.name }),
    weight: t.int({ description: KeyChangesFields.weight }),
    quota: t.int({ description: KeyChangesFields.quota }),
  }),
});

builder.mutationFields((t) => ({
  updateKey: t.prismaField({
    type: 'ApiKey',
    description: 'Changes a key\'s name, weight or quota in place: its id, usage and KeyEvent history stay.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateKeyInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = await ctx.services.keyUpdate.update(String(args.id), args.input);
      return ctx.services.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateKeys: t.prismaField({
    type: ['ApiKey'],
    description: 'updateKey for many keys in one transaction. Every id is checked first: one unknown id changes nothing.',
    args: { input: t.arg({ type: [KeyUpdateInput], required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const ids = await ctx.services.keyUpdate.updateMany(args.input.map((u) => ({ ...u, id: String(u.id) })));
      const rows = await ctx.services.prisma.apiKey.findMany({ ...query, where: { id: { in: ids } } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id)!);
    },
  }),
}));
