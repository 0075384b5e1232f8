import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import { isProductionEnvironment } from '../config.js';
import type { Context, ServiceContext, ViewerContext } from '../context.js';
import type { ApiKeyScope } from '../generated/prisma/client.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { ValidationError } from '../services/errors.js';

const production = isProductionEnvironment();
const capitalize = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: { loggedIn: boolean; admin: boolean; service: ApiKeyScope };
  AuthContexts: { loggedIn: ViewerContext; admin: ViewerContext; service: ServiceContext };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Connection: { totalCount: number | (() => number | Promise<number>) };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    EmailAddress: { Input: string; Output: string };
    URL: { Input: URL; Output: URL | string };
    NonNegativeInt: { Input: number; Output: number };
    PositiveInt: { Input: number; Output: number };
    BigInt: { Input: bigint; Output: bigint | number };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin, DataloaderPlugin, ValidationPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (context) => ({
      loggedIn: context.viewer !== null && context.viewer.role !== 'BANNED',
      admin: context.viewer?.role === 'ADMIN',
      service: (scope) => context.apiKey?.scopes.includes(scope) ?? false,
    }),
    unauthorizedError: (_parent, context) =>
      context.viewer || context.apiKey
        ? new GraphQLError('You are not allowed to access this field', { extensions: { code: 'FORBIDDEN' } })
        : new GraphQLError('Sign in to access this field', { extensions: { code: 'UNAUTHENTICATED' } }),
  },
  errors: {
    defaultTypes: [],
    // Deliberate names instead of Mutation<Field>Result: deductCredits -> DeductCreditsResult / DeductCreditsSuccess.
    defaultUnionOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Result` },
    defaultResultOptions: { name: ({ fieldName }) => `${capitalize(fieldName)}Success` },
  },
  prisma: {
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: production ? null : 'error',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
  },
  validation: {
    validationError: (result) =>
      new ValidationError(
        result.issues.map((issue) => issue.message).join('; '),
        result.issues.map((issue) => ({
          path: (issue.path ?? [])
            .map((segment) => (typeof segment === 'object' ? String(segment.key) : String(segment)))
            .join('.'),
          message: issue.message,
        })),
      ),
  },
});
