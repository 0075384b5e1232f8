import { ApiKeyScope } from '../generated/prisma/enums.js';
import type { ApiKey } from '../generated/prisma/client.js';
import { builder } from './builder.js';

export const ApiKeyScopeEnum = builder.enumType(ApiKeyScope, {
  name: 'ApiKeyScope',
  description: 'What a service API key may do',
  values: {
    SPEND: { description: 'deductCredits, reserveCredits and finalizeReservation for any user, at amounts it chooses' },
    GRANT: { description: 'grantCredits for any user' },
    READ: { description: 'Read any user (node(id)), with their balance and subscription' },
  },
});

export const ApiKeyNode = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  description: 'A key for the SaaS\'s own servers. Only admins see keys; the secret is shown once, at creation.',
  authScopes: { admin: true },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the key is for' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, to tell keys apart' }),
    scopes: t.expose('scopes', { description: 'What the key may do', type: [ApiKeyScopeEnum] }),
    createdAt: t.expose('createdAt', { description: 'When the key was created', type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key was last used, to the minute',
    }),
    revokedAt: t.expose('revokedAt', { description: 'When the key was revoked; null while it works', type: 'DateTime', nullable: true }),
  }),
});

export const CreatedApiKeyRef = builder.objectRef<{ apiKey: ApiKey; secret: string }>('CreatedApiKey').implement({
  description: 'A new key and its secret. Store the secret now: it is not shown again.',
  fields: (t) => ({
    apiKey: t.field({ description: 'The key, as apiKeys lists it', type: ApiKeyNode, resolve: (created) => created.apiKey }),
    secret: t.exposeString('secret', {
      description: 'Send as `Authorization: Bearer <secret>` from your servers; never ship it to a browser',
    }),
  }),
});
