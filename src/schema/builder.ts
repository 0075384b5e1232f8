import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { isProductionEnvironment } from '../config.js';
import type { Context, ServiceContext, ViewerContext } from '../context.js';
import type { ApiKeyScope } from '../generated/prisma/client.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { refusalOf } from '../services/auth.js';
import { ValidationError } from '../services/errors.js';
import TextInputPlugin from './text-input.js';

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
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    EmailAddress: { Input: string; Output: string };
    URL: { Input: string; Output: URL | string };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin, DataloaderPlugin, TextInputPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (context) => ({
      // authenticate() already refuses such a viewer; the scope holds even for a context built another way.
      loggedIn: context.viewer !== null && refusalOf(context.viewer) === null,
      admin: context.viewer?.role === 'ADMIN',
      service: (scope) => context.apiKey?.scopes.includes(scope) ?? false,
    }),
    unauthorizedError: (_parent, context) =>
      context.viewer || context.apiKey
        ? new GraphQLError('You are not allowed to access this field', { extensions: { code: 'FORBIDDEN' } })
        : new GraphQLError('Sign in to access this field', { extensions: { code: 'UNAUTHENTICATED' } }),
  },
  errors: {
    // Every field with a result union can refuse its input; field-specific errors are listed on the field.
    defaultTypes: [ValidationError],
    // Deliberate names instead of Mutation<Field>Result: deductCredits -> DeductCreditsResult / DeductCreditsSuccess.
    defaultUnionOptions: {
      name: ({ fieldName }) => `${capitalize(fieldName)}Result`,
      description: 'The result, or one of the typed errors listed as members (each implements Error); see the README on errors',
    },
    defaultResultOptions: {
      name: ({ fieldName }) => `${capitalize(fieldName)}Success`,
      description: 'The successful result of the field of the same name; the value is in data',
    },
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
    edgesFieldOptions: { nullable: false, description: 'The items of this page, in order' },
    nodeTypeOptions: { description: 'An object a client can fetch again by its global id with node(id)' },
    idFieldOptions: { description: 'Global id: opaque, stable, accepted by node(id) and by every argument that names this object' },
    nodeQueryOptions: {
      description: 'Any object by its global id; null when it does not exist or the caller may not see it',
      args: { id: { description: 'A global id, as returned in `id` fields' } },
    },
    nodesQueryOptions: {
      description: 'Objects by their global ids, in the same order; null for each one that does not exist or is not visible',
      args: { ids: { description: 'Global ids, as returned in `id` fields' } },
    },
    pageInfoTypeOptions: { description: 'Where this page sits in the list, and the cursors to fetch the next or previous one' },
    pageInfoFieldOptions: { description: 'Cursors and whether more pages exist' },
    hasNextPageFieldOptions: { description: 'True when another page follows; fetch it with first and after: endCursor' },
    hasPreviousPageFieldOptions: { description: 'True when a page comes before; fetch it with last and before: startCursor' },
    startCursorFieldOptions: { description: 'Cursor of the first item of this page; null when the page is empty' },
    endCursorFieldOptions: { description: 'Cursor of the last item of this page; null when the page is empty' },
    cursorFieldOptions: { description: 'Opaque position of this item; pass it as after or before to page on' },
    nodeFieldOptions: { description: 'The item' },
    firstArgOptions: { description: 'Page size from the start (or from after): 1-100; 20 when neither first nor last is given' },
    afterArgOptions: { description: 'A cursor from a previous page: start after this item' },
    lastArgOptions: { description: 'Page size from the end (or from before): 1-100' },
    beforeArgOptions: { description: 'A cursor from a previous page: end before this item' },
  },
});
