import type { FastifyInstance } from 'fastify';
import { ClerkWebhooksNotConfiguredError, WebhookPayloadError, WebhookSignatureError } from '../services/errors.js';
import type { Services } from '../services/index.js';

/**
 * POST /webhooks/clerk. Encapsulated so that only this route keeps the body as the raw bytes Svix signed.
 */
export async function clerkWebhooks(app: FastifyInstance, options: { services: Services }) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body));

  app.post('/webhooks/clerk', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    try {
      const { eventId, duplicate } = await options.services.clerkWebhooks.receive(body, request.headers);
      return reply.code(200).send({ received: true, eventId, duplicate });
    } catch (error) {
      if (error instanceof WebhookSignatureError) {
        request.log.info({ reason: error.message }, 'Clerk webhook refused');
        return reply.code(400).send({ error: 'invalid signature', requestId: request.id });
      }
      if (error instanceof WebhookPayloadError) {
        request.log.info({ reason: error.message }, 'Clerk webhook refused');
        return reply.code(400).send({ error: `invalid event: ${error.message}`, requestId: request.id });
      }
      if (error instanceof ClerkWebhooksNotConfiguredError) return reply.code(503).send({ error: error.message, requestId: request.id });
      throw error;
    }
  });
}
