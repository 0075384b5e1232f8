import { NotFoundError, ValidationError } from '../services/errors.js';
import { builder } from '../schema/builder.js';
import { connectionTypes } from '../schema/connections.js';
import { DeletionRef } from '../schema/storage.js';
import { MembershipStatusEnum, RoleEnum, TierEnum, UserNode } from '../schema/users.js';

/** Whether `row` already holds everything the planned query would read: its columns, and whole related rows. */
function readWith(row: object, query: { include?: object; select?: object }): boolean {
  if (query.select) return false;
  return Object.entries(query.include ?? {}).every(([relation, wanted]) => wanted === true && (row as Record<string, unknown>)[relation] !== undefined);
}

builder.queryFields((t) => ({
  viewer: t.prismaField({
    type: UserNode,
    nullable: true,
    description: 'The signed-in user, or null for anonymous callers.',
    resolve: (query, _root, _args, context) => {
      if (!context.viewer) {
        // Reading the planned selection tells plugin-prisma's development check that leaving it unused is deliberate.
        void { ...query };
        return null;
      }
      // Authentication read this request's user row with its balance and subscriptions: a query for no more than
      // that is answered from it; one that asks for more reads it all again in one statement.
      if (readWith(context.viewer, query)) return context.viewer;
      return context.prisma.user.findUnique({ ...query, where: { id: context.viewer.id } });
    },
  }),
  users: t.withAuth({ admin: true }).prismaConnection({
    description: 'Admin: users, newest first, filtered by the arguments given (all must match)',
    type: UserNode,
    cursor: 'id',
    maxSize: 100,
    defaultSize: 20,
    totalCount: (_parent, args, context) => context.prisma.user.count({ where: context.services.users.listFilter(args) }),
    args: {
      search: t.arg.string({
        required: false,
        description: 'Part of the email or name, case-insensitive, at most 200 characters',
      }),
      role: t.arg({ type: RoleEnum, required: false, description: 'Only users with this role' }),
      tier: t.arg({ type: TierEnum, required: false, description: 'Only users on this tier' }),
      membershipStatus: t.arg({ type: MembershipStatusEnum, required: false, description: 'Only users in this membership status' }),
    },
    resolve: (query, _root, args, context) =>
      context.prisma.user.findMany({
        ...query,
        where: context.services.users.listFilter(args),
        orderBy: { id: 'desc' },
      }),
  }, ...connectionTypes('User', 'users')),
}));

builder.mutationFields((t) => ({
  updatePreferences: t.withAuth({ loggedIn: true }).prismaField({
    description: 'Merges keys into your preferences in one statement; a key set to null is removed. At most 16 KB of JSON in total.',
    type: UserNode,
    errors: { types: [ValidationError], directResult: true },
    args: {
      preferences: t.arg({ type: 'JSONObject', required: true, description: 'Keys to set (null removes a key); other keys stay' }),
    },
    resolve: async (query, _root, args, context) => {
      await context.services.users.updatePreferences(context.viewer.id, args.preferences);
      return context.prisma.user.findUniqueOrThrow({ ...query, where: { id: context.viewer.id } });
    },
  }),
  setUserRole: t.withAuth({ admin: true }).prismaField({
    type: UserNode,
    description: 'Changes a user\'s role (BANNED bans them). Writes an admin audit row.',
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    args: {
      userId: t.arg.globalID({ required: true, for: UserNode, description: 'Global id of the user' }),
      role: t.arg({ type: RoleEnum, required: true, description: 'The new role' }),
      reason: t.arg.string({ required: false, description: 'Why, for the audit log; at most 500 characters' }),
    },
    resolve: async (query, _root, args, context) => {
      const user = await context.services.users.setRole(context.viewer.id, args.userId.id, args.role, args.reason);
      return context.prisma.user.findUniqueOrThrow({ ...query, where: { id: user.id } });
    },
  }),
}));

builder.mutationFields((t) => ({
  deleteAccount: t.withAuth({ loggedIn: true }).field({
    type: DeletionRef,
    description:
      "Deletes the signed-in user's account: the subscription is canceled at Stripe now, personal data is removed, files are purged after retention, and the same sign-in is refused from then on. The credit ledger and payments are kept for accounting.",
    errors: { types: [NotFoundError, ValidationError], directResult: true },
    resolve: async (_root, _args, context) => ({
      typename: 'User',
      ...(await context.services.users.deleteAccount(context.viewer.id)),
    }),
  }),
  deleteUser: t.withAuth({ admin: true }).field({
    type: DeletionRef,
    description: "Admin: deletes another user's account exactly as deleteAccount does. Audited.",
    errors: { types: [NotFoundError, ValidationError], directResult: true },
    args: {
      userId: t.arg.globalID({ required: true, for: UserNode, description: 'The user to delete' }),
      reason: t.arg.string({ required: false, description: 'Why, at most 500 characters; kept in the audit log' }),
    },
    resolve: async (_root, args, context) => ({
      typename: 'User',
      ...(await context.services.users.deleteAccount(args.userId.id, { adminId: context.viewer.id, reason: args.reason })),
    }),
  }),
}));
