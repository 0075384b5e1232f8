import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from './authenticate.js';
import { AuthenticationError, DomainError, ForbiddenError } from '../services/errors.js';
import type { Services } from '../services/index.js';

const STATUS: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
};

function contentDisposition(name: string) {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * GET /files/<id>[/<name>]: streams a stored file to its owner (Authorization: Bearer) or to anyone holding a valid
 * signed URL (?expires=&signature=). Everyone else is told the file does not exist.
 */
export function registerFileRoutes(app: FastifyInstance, services: Services) {
  async function viewerId(request: FastifyRequest): Promise<string | null> {
    const viewer = await authenticate(request, services);
    if (!viewer) return null;
    if (viewer.role === 'BANNED') throw new ForbiddenError('This account is banned');
    return viewer.id;
  }

  app.get('/files/*', async (request: FastifyRequest<{ Params: { '*': string }; Querystring: Record<string, string> }>, reply: FastifyReply) => {
    const objectId = request.params['*'].split('/')[0];
    const { expires, signature } = request.query;
    try {
      const signed = expires !== undefined || signature !== undefined;
      const { object, body } = await services.storage.open(objectId, {
        viewerId: signed ? null : await viewerId(request),
        expires,
        signature,
      });
      const etag = `"${object.checksum}"`;
      reply
        .header('content-type', object.contentType)
        .header('etag', etag)
        .header('x-content-type-options', 'nosniff')
        .header('content-disposition', contentDisposition(object.name))
        .header('cache-control', signed ? 'private, max-age=60' : 'private, no-cache');
      if (request.headers['if-none-match'] === etag) {
        body.destroy();
        return reply.code(304).send();
      }
      return reply.header('content-length', object.sizeBytes).send(body);
    } catch (error) {
      if (error instanceof DomainError && STATUS[error.code]) {
        if (error instanceof AuthenticationError) reply.header('www-authenticate', 'Bearer');
        return reply.code(STATUS[error.code]).send({ error: error.message, code: error.code, requestId: request.id });
      }
      throw error;
    }
  });
}
