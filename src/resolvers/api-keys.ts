import { NotFoundError, ValidationError } from '../services/errors.js';
import { builder } from '../schema/builder.js';
import { connectionTypes } from '../schema/connections.js';
import { ApiKeyNode, ApiKeyScopeEnum, CreatedApiKeyRef } from '../schema/api-keys.js';

builder.queryFields((t) => ({
  apiKeys: t.withAuth({ admin: true }).prismaConnection({
    type: ApiKeyNode,
    cursor: 'id',
    maxSize: 100,
    defaultSize: 20,
    description: 'Admin: service API keys, newest first, revoked ones included',
    resolve: (query, _root, _args, context) => context.prisma.apiKey.findMany({ ...query, orderBy: { id: 'desc' } }),
  }, ...connectionTypes('ApiKey', 'service API keys', { totalCount: false })),
}));

builder.mutationFields((t) => ({
  createApiKey: t.withAuth({ admin: true }).field({
    type: CreatedApiKeyRef,
    description: 'Admin: creates a service API key. The secret is in this answer only. Audited.',
    errors: { types: [ValidationError], directResult: true },
    args: {
      name: t.arg.string({ required: true, description: 'What the key is for, 1-100 characters' }),
      scopes: t.arg({ type: [ApiKeyScopeEnum], required: true, description: 'What the key may do; at least one' }),
    },
    resolve: (_root, args, context) => context.services.apiKeys.create(context.viewer.id, args),
  }),
  revokeApiKey: t.withAuth({ admin: true }).prismaField({
    type: ApiKeyNode,
    description: 'Admin: revokes a key at once; requests with it answer 401. Audited.',
    errors: { types: [NotFoundError], directResult: true },
    args: { id: t.arg.globalID({ required: true, for: ApiKeyNode, description: 'Global id of the key' }) },
    resolve: async (query, _root, args, context) => {
      const revoked = await context.services.apiKeys.revoke(context.viewer.id, args.id.id);
      return context.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: revoked.id } });
    },
  }),
}));
