import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ApiKey, ApiKeyScope } from '../generated/prisma/client.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { recordAdminAction } from './audit.js';
import { AuthenticationError, NotFoundError } from './errors.js';
import { isUuid } from './ids.js';
import { parseInput } from './validation.js';

export const API_KEY_PREFIX = 'svc_';
const API_KEY_FORMAT = /^svc_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
const SCOPES: ApiKeyScope[] = ['SPEND', 'GRANT', 'READ'];
const LAST_USED_RESOLUTION_MS = 60_000;

const createInput = z.object({
  name: z.string().trim().min(1, 'must be 1-100 characters').max(100, 'must be 1-100 characters'),
  scopes: z
    .array(z.enum(SCOPES as [ApiKeyScope, ...ApiKeyScope[]]), { error: `must name at least one of ${SCOPES.join(', ')}` })
    .min(1, `must name at least one of ${SCOPES.join(', ')}`)
    .transform((scopes) => [...new Set(scopes)]),
});

export interface ServiceCaller {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
}

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export const looksLikeApiKey = (token: string) => token.startsWith(API_KEY_PREFIX);

/**
 * Keys for the SaaS's own servers. The secret is 256 random bits, so a SHA-256 of it is stored rather than a slow
 * password hash; the plain key is returned once, at creation.
 */
export class ApiKeysService {
  constructor(private readonly deps: { prisma: Db; log: Logger; now?: () => Date }) {}

  private now() {
    return this.deps.now?.() ?? new Date();
  }

  async create(
    actorId: string | null,
    input: { name: string; scopes: ApiKeyScope[] },
  ): Promise<{ apiKey: ApiKey; secret: string }> {
    const { name, scopes } = parseInput(createInput, input);
    const secretPart = randomBytes(32).toString('base64url');
    return this.deps.prisma.$transaction(async (tx) => {
      const apiKey = await tx.apiKey.create({
        data: { name, scopes, secretHash: hashSecret(secretPart), prefix: secretPart.slice(0, 6), createdById: actorId },
      });
      await recordAdminAction(tx, {
        actorId,
        action: 'apiKey.create',
        targetType: 'ApiKey',
        targetId: apiKey.id,
        data: { name, scopes },
      });
      return { apiKey, secret: `${API_KEY_PREFIX}${apiKey.id.replaceAll('-', '')}_${secretPart}` };
    });
  }

  async revoke(actorId: string | null, id: string): Promise<ApiKey> {
    if (!isUuid(id)) throw new NotFoundError('ApiKey', id);
    return this.deps.prisma.$transaction(async (tx) => {
      const existing = await tx.apiKey.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError('ApiKey', id);
      if (existing.revokedAt) return existing;
      const apiKey = await tx.apiKey.update({ where: { id }, data: { revokedAt: this.now() } });
      await recordAdminAction(tx, { actorId, action: 'apiKey.revoke', targetType: 'ApiKey', targetId: id, data: { name: apiKey.name } });
      return apiKey;
    });
  }

  list(): Promise<ApiKey[]> {
    return this.deps.prisma.apiKey.findMany({ orderBy: { id: 'desc' } });
  }

  /** The caller behind a presented key; any mismatch is the same refusal, so keys cannot be probed. */
  async authenticate(presented: string): Promise<ServiceCaller> {
    const match = API_KEY_FORMAT.exec(presented);
    const refused = new AuthenticationError('The API key is not valid');
    if (!match) throw refused;
    const hex = match[1];
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const apiKey = await this.deps.prisma.apiKey.findUnique({ where: { id } });
    const expected = Buffer.from(apiKey?.secretHash ?? hashSecret(''), 'hex');
    const actual = Buffer.from(hashSecret(match[2]), 'hex');
    if (!apiKey || !timingSafeEqual(expected, actual)) throw refused;
    if (apiKey.revokedAt) throw new AuthenticationError('The API key has been revoked');
    this.touch(apiKey);
    return { id: apiKey.id, name: apiKey.name, scopes: apiKey.scopes };
  }

  /** Records when a key was last used, at most once a minute per key: a write per request would cost more. */
  private touch(apiKey: ApiKey) {
    const now = this.now();
    if (apiKey.lastUsedAt && now.getTime() - apiKey.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    this.deps.prisma.apiKey
      .updateMany({
        where: { id: apiKey.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) } }] },
        data: { lastUsedAt: now },
      })
      .catch((error) => this.deps.log.warn({ err: error, apiKeyId: apiKey.id }, 'could not record API key use'));
  }
}
