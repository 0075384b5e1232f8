import { brandWithType } from '@pothos/core';
import type { Context } from '../context.js';
import { builder } from './builder.js';

/** Audit targets that are nodes, and how to load one; other target types (FeatureCost) have no object to point at. */
const targetLoaders: Record<string, (context: Context, id: string) => Promise<object | null>> = {
  User: (context, id) => context.prisma.user.findUnique({ where: { id } }),
  ApiKey: (context, id) => context.prisma.apiKey.findUnique({ where: { id } }),
  Plan: (context, id) => context.prisma.plan.findUnique({ where: { id } }),
  CreditPack: (context, id) => context.prisma.creditPack.findUnique({ where: { id } }),
  CreditReservation: (context, id) => context.prisma.creditReservation.findUnique({ where: { id } }),
  WebhookEvent: (context, id) => context.prisma.webhookEvent.findUnique({ where: { id } }),
};

export const AuditLogEntryNode = builder.prismaNode('AdminAuditLog', {
  name: 'AuditLogEntry',
  id: { field: 'id' },
  nullable: true,
  description: 'One admin action (or operator command), written in the same transaction as the change. Admin only.',
  authScopes: { admin: true },
  fields: (t) => ({
    action: t.exposeString('action', { description: 'What was done, e.g. user.setRole, credits.grant, plan.update' }),
    actor: t.relation('actor', {
      nullable: true,
      description: 'The admin who did it; null for an operator command (npm run ...) or a deleted admin',
    }),
    targetType: t.exposeString('targetType', { description: 'The kind of object acted on, e.g. User, Plan, FeatureCost' }),
    target: t.field({
      type: builder.nodeInterfaceRef(),
      nullable: true,
      description: 'The object acted on; null when the action had no single target (a reorder) or the object is gone',
      resolve: async (entry, _args, context) => {
        const load = entry.targetId ? targetLoaders[entry.targetType] : undefined;
        const row = load && entry.targetId ? await load(context, entry.targetId) : null;
        if (!row) return null;
        brandWithType(row, entry.targetType as never);
        return row;
      },
    }),
    data: t.field({
      type: 'JSONObject',
      description: 'Details of the action, e.g. the previous and new role, or the amount granted',
      resolve: (entry) => (entry.data ?? {}) as Record<string, unknown>,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was done' }),
  }),
});
