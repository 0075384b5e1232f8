import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from './authenticate.js';
import type { Services } from '../services/index.js';

function contentDisposition(name: string) {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * GET /files/<id>[/<name>]: streams a stored file to its owner (Authorization: Bearer) or to anyone holding a valid
 * signed URL (?expires=&signature=). Everyone else is told the file does not exist. Refusals (a bad token, a banned
 * account, a missing file) go to the application's error handler, which answers them as every route does.
 */
export function registerFileRoutes(app: FastifyInstance, services: Services) {
  app.get('/files/*', async (request: FastifyRequest<{ Params: { '*': string }; Querystring: Record<string, string> }>, reply: FastifyReply) => {
    const objectId = request.params['*'].split('/')[0];
    const { expires, signature } = request.query;
    const signed = expires !== undefined || signature !== undefined;
    const { object, body } = await services.storage.open(objectId, {
      viewerId: signed ? null : ((await authenticate(request, services))?.id ?? null),
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
  });
}
