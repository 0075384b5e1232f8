import { MembershipStatus, Role, Tier } from '../generated/prisma/enums.js';
import { builder } from './builder.js';
import { viewerIdOrNone } from './storage.js';

export const RoleEnum = builder.enumType(Role, { name: 'Role' });
export const MembershipStatusEnum = builder.enumType(MembershipStatus, { name: 'MembershipStatus' });
export const TierEnum = builder.enumType(Tier, { name: 'Tier' });

export const UserNode = builder.prismaNode('User', {
  id: { field: 'id' },
  nullable: true,
  // A user is visible to themselves, to admins and to service keys with READ. Through node(id) anyone else's id reads
  // as missing, exactly like an id that does not exist, so node(id) reveals nothing about which users exist.
  findUnique: (id, context) =>
    context.viewer?.role === 'ADMIN' || context.apiKey?.scopes.includes('READ')
      ? { id }
      : { id, AND: [{ id: viewerIdOrNone(context) }] },
  authScopes: (user, context) =>
    context.viewer?.id === user.id || context.viewer?.role === 'ADMIN' || !!context.apiKey?.scopes.includes('READ'),
  fields: (t) => ({
    email: t.exposeString('email', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
    role: t.expose('role', { type: RoleEnum }),
    membershipStatus: t.expose('membershipStatus', { type: MembershipStatusEnum }),
    tier: t.expose('tier', { type: TierEnum }),
    preferences: t.field({
      type: 'JSONObject',
      resolve: (user) => (user.preferences ?? {}) as Record<string, unknown>,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
