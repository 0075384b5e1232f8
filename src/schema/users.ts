import { MembershipStatus, Role, Tier } from '../generated/prisma/enums.js';
import { builder } from './builder.js';

export const RoleEnum = builder.enumType(Role, { name: 'Role' });
export const MembershipStatusEnum = builder.enumType(MembershipStatus, { name: 'MembershipStatus' });
export const TierEnum = builder.enumType(Tier, { name: 'Tier' });

export const UserNode = builder.prismaNode('User', {
  id: { field: 'id' },
  // A user is visible to themselves, to admins and to service keys with READ; everyone else gets FORBIDDEN.
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
