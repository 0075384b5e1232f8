import { MembershipStatus, Role, Tier } from '../generated/prisma/enums.js';
import { builder } from './builder.js';
import { isHttpUrl } from './scalars.js';
import { canSeeRowsOf, visibleUser } from './visibility.js';

export const RoleEnum = builder.enumType(Role, {
  name: 'Role',
  description: 'What a user may do',
  values: {
    USER: { description: 'A signed-in user with no paid subscription' },
    PREMIUM: { description: 'A user with an active or trialing subscription; set from Stripe, not by hand' },
    ADMIN: { description: 'May call every admin field (users, plans, costs, grants, analytics, audit log); never changed by billing' },
    BANNED: { description: 'Refused everywhere: every request with this account\'s token answers HTTP 403 ACCOUNT_BANNED with the ban reason' },
  },
});
export const MembershipStatusEnum = builder.enumType(MembershipStatus, {
  name: 'MembershipStatus',
  description: 'The state of the paid membership, kept in step with the Stripe subscription',
  values: {
    ACTIVE: { description: 'Paying (or trialing); the plan allowance applies' },
    INACTIVE: { description: 'Never subscribed, or the subscription ended long ago' },
    CANCELED: { description: 'The subscription ended' },
    PAST_DUE: { description: 'A renewal payment failed; Stripe is retrying' },
  },
});
export const TierEnum = builder.enumType(Tier, {
  name: 'Tier',
  description: 'The product tier that decides the period allowance',
  values: {
    FREE: { description: 'No subscription' },
    PLUS: { description: 'The middle paid tier' },
    PRO: { description: 'The top paid tier' },
  },
});

export const UserNode = builder.prismaNode('User', {
  description: 'A person with an account. Visible to themselves, to admins and to service API keys with READ.',
  id: { field: 'id' },
  nullable: true,
  // A user is visible to themselves, to admins and to service keys with READ. Through node(id) anyone else's id reads
  // as missing, exactly like an id that does not exist, so node(id) reveals nothing about which users exist.
  findUnique: (id, context) => visibleUser(id, context),
  authScopes: (user, context) => canSeeRowsOf(user.id, context),
  fields: (t) => ({
    email: t.expose('email', { type: 'EmailAddress', description: 'Sign-in email; null for accounts created without one', nullable: true }),
    name: t.exposeString('name', { description: 'Display name from the identity provider; null if none', nullable: true }),
    image: t.field({
      description: "Avatar from the identity provider's picture claim; null if none, or if it is not an http(s) URL",
      type: 'URL',
      nullable: true,
      // The claim is stored as the provider sent it; only a web address is handed to clients to show.
      resolve: (user) => (user.image && isHttpUrl(user.image) ? user.image : null),
    }),
    role: t.expose('role', { description: 'What the user may do', type: RoleEnum }),
    membershipStatus: t.expose('membershipStatus', { description: 'State of the paid membership', type: MembershipStatusEnum }),
    tier: t.expose('tier', { description: 'Product tier from the current subscription; FREE without one', type: TierEnum }),
    preferences: t.field({
      description: 'Free-form client settings, merged by updatePreferences; at most 16 KB as JSON',
      type: 'JSONObject',
      resolve: (user) => (user.preferences ?? {}) as Record<string, unknown>,
    }),
    createdAt: t.expose('createdAt', { description: 'When the account was created', type: 'DateTime' }),
  }),
});
