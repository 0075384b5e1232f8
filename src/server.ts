import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { unwrapResolverError } from '@apollo/server/errors';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import cors from '@fastify/cors';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { PothosValidationError } from '@pothos/core';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Config } from './config.js';
import type { Context } from './context.js';
import type { Db } from './db/client.js';
import type { User } from './generated/prisma/client.js';
import { authenticateCaller, spendsOnlyChecker } from './http/authenticate.js';
import { registerFileRoutes } from './http/files.js';
import { registerGraphiQL } from './http/graphiql.js';
import { refuse, refusalsFoundWhileSpendingPlugin } from './http/refusals.js';
import { argumentGuard } from './http/graphql-arguments.js';
import { answerDatabaseOutagesWith503, databaseUnavailablePlugin } from './http/database-unavailable.js';
import { createMetrics } from './http/metrics.js';
import { clerkWebhooks } from './http/clerk-webhooks.js';
import { stripeWebhooks } from './http/stripe-webhooks.js';
import type { Logger } from './logger.js';
import { schema } from './schema/index.js';
import { DomainError } from './services/errors.js';
import type { ServiceCaller } from './services/api-keys.js';
import type { Services } from './services/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    viewer: User | null;
    apiKey: ServiceCaller | null;
  }
}

export interface AppOptions {
  config: Config;
  log: Logger;
  prisma: Db;
  services: Services;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;
const CLIENT_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'ACCOUNT_BANNED',
]);

function isClientError(error: unknown): boolean {
  if (error instanceof DomainError || error instanceof PothosValidationError) return true;
  if (error instanceof GraphQLError) {
    const code = error.extensions?.code;
    return typeof code === 'string' && CLIENT_ERROR_CODES.has(code);
  }
  return false;
}

// graphql-js suggests close matches ("Did you mean ...?"), which spells out the schema when introspection is off.
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** Expected failures keep their message and code; anything else is logged with the request id and masked. */
function createErrorFormatter(production: boolean) {
  const hideSuggestions = (formatted: GraphQLFormattedError): GraphQLFormattedError =>
    production ? { ...formatted, message: formatted.message.replace(SUGGESTION, '') } : formatted;
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof DomainError) {
      return { ...formatted, message: original.message, extensions: { code: original.code } };
    }
    if (original instanceof PothosValidationError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: 'BAD_USER_INPUT' },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && CLIENT_ERROR_CODES.has(code)) return hideSuggestions(formatted);
    if (original instanceof GraphQLError && !original.originalError && code === undefined) return hideSuggestions(formatted);
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

const logUnexpectedErrors: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors, operationName }) {
        for (const error of errors) {
          const original = unwrapResolverError(error);
          if (isClientError(original)) continue;
          if (error.extensions?.code && CLIENT_ERROR_CODES.has(String(error.extensions.code))) continue;
          if (!error.originalError && !error.path) continue;
          contextValue.log.error({ err: original, path: error.path, operationName }, 'unexpected GraphQL error');
        }
      },
    };
  },
};

function describeClientError(status: number, message: string, contentType: string | undefined): string {
  if (status !== 415) return message;
  const given = (contentType ?? 'none').replace(/[^\x20-\x7e]/g, '').slice(0, 100);
  return `Unsupported content-type "${given}"; send application/json`;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

function graphqlErrorBody(message: string, code: string, extra: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extra } }] };
}

export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, log, prisma, services } = options;
  const metrics = createMetrics({ prisma });
  const app = Fastify({
    loggerInstance: log,
    // Requests are logged once, on completion, by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    forceCloseConnections: 'idle',
    trustProxy: true,
  }) as unknown as FastifyInstance;
  app.decorateRequest('viewer', null);
  app.decorateRequest('apiKey', null);

  // Set before any route is registered: Fastify binds a route's error handler when the route is added.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof DomainError) {
      const { message, code, details } = refuse(reply, error);
      request.log.info({ code, reason: message }, 'request refused');
      return reply.send({ error: message, code, ...details, requestId: request.id });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled request error');
      return reply.code(500).send({ error: 'Internal server error', requestId: request.id });
    }
    request.log.info({ reason: error.message }, 'client error');
    return reply
      .code(status)
      .send({ error: describeClientError(status, error.message, request.headers['content-type']), requestId: request.id });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: `No route for ${request.method} ${request.url.split('?')[0].slice(0, 200)}`, requestId: request.id }),
  );
  answerDatabaseOutagesWith503(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    request.log.info(
      // The path alone: query strings carry signed-URL signatures and GraphQL GET variables.
      { method: request.method, path: request.url.split('?', 1)[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });

  const origins = config.corsOrigins;
  await app.register(cors, {
    origin: origins.includes('*') ? true : origins.length ? origins : false,
    credentials: true,
    exposedHeaders: ['x-request-id'],
  });

  const armor = new ApolloArmor({
    maxDepth: { n: config.graphql.maxDepth },
    maxAliases: { n: config.graphql.maxAliases },
    // graphql-armor's token limit throws from a hook that turns every syntax error into HTTP 500; the parser's own
    // limit (parseOptions below) answers 400.
    maxTokens: { enabled: false },
    costLimit: { maxCost: config.graphql.maxCost },
    blockFieldSuggestion: { enabled: config.production },
  });
  const protection = armor.protect();
  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.graphql.introspection,
    // Apollo would stop itself on SIGTERM before Fastify finishes in-flight requests; main.ts owns shutdown.
    stopOnTerminationSignals: false,
    formatError: createErrorFormatter(config.production),
    includeStacktraceInErrorResponses: false,
    parseOptions: { maxTokens: config.graphql.maxTokens },
    validationRules: [...protection.validationRules],
    plugins: [
      // graphql-armor is typed against Apollo's CommonJS build; the runtime is shared.
      ...(protection.plugins as unknown as ApolloServerPlugin<Context>[]),
      ApolloServerPluginLandingPageDisabled(),
      // No field sets a cache hint; the default plugin would still wrap every field resolver to look for one.
      ApolloServerPluginCacheControlDisabled(),
      argumentGuard<Context>(),
      logUnexpectedErrors,
      databaseUnavailablePlugin,
      refusalsFoundWhileSpendingPlugin,
      {
        async requestDidStart() {
          const started = process.hrtime.bigint();
          return {
            async willSendResponse({ operation, operationName, response }) {
              const failed = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
              const labels = { operation: metrics.operationLabel(operationName), type: operation?.operation ?? 'unknown' };
              metrics.graphqlOperations.inc({ ...labels, outcome: failed ? 'error' : 'ok' });
              metrics.graphqlDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
            },
          };
        },
      },
    ],
  });
  await apollo.start();
  // Fastify's close already stops accepting and waits for in-flight requests; Apollo's drain plugin would close
  // Fastify from inside its own onClose and never finish.
  app.addHook('onClose', async () => {
    await apollo.stop();
  });

  const graphqlHandler = fastifyApolloHandler<Context>(apollo, {
    context: async (request) => ({
      requestId: request.id,
      log: request.log as Logger,
      config,
      prisma,
      services,
      viewer: request.viewer,
      apiKey: request.apiKey,
    }),
  });

  const spendsOnly = spendsOnlyChecker();
  app.route({
    url: '/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    preHandler: async (request, reply) => {
      try {
        ({ viewer: request.viewer, apiKey: request.apiKey } = await authenticateCaller(request, services, {
          recheckedWhereSpent: request.method === 'POST' && spendsOnly(request.body),
        }));
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        const { message, code, details } = refuse(reply, error);
        request.log.info({ code, reason: message }, 'request refused');
        return reply.send(graphqlErrorBody(message, code, details));
      }
    },
    handler: async (request, reply) => {
      const wantsIde =
        config.graphql.ide &&
        request.method === 'GET' &&
        !(request.query as Record<string, unknown>).query &&
        (request.headers.accept ?? '').includes('text/html');
      if (wantsIde) return reply.redirect('/graphiql');
      return graphqlHandler.call(app, request as never, reply as never);
    },
  });
  if (config.graphql.ide) registerGraphiQL(app);

  await app.register(stripeWebhooks, { services });
  await app.register(clerkWebhooks, { services });
  registerFileRoutes(app, services);

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await prisma.$queryRaw`SELECT 1`;
      return { status: 'ready' };
    } catch (error) {
      log.warn({ err: error }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', reason: 'database does not answer' });
    }
  });
  app.get('/metrics', async (request, reply) => {
    // Production answers only with METRICS_TOKEN; without one configured the route is off there.
    if (config.metricsToken ? !bearerMatches(request.headers.authorization, config.metricsToken) : config.production) {
      if (!config.metricsToken) return reply.code(404).send({ error: 'Not found' });
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Not authorized' });
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return app;
}
