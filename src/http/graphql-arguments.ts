import type { ApolloServerPlugin } from '@apollo/server';
import { decodeBase64, decodeCursorChunk } from '@pothos/core';
import { decodeGlobalID } from '@pothos/plugin-relay';
import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  GraphQLError,
  isInputObjectType,
  isListType,
  isObjectType,
  isUnionType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getDatamodel } from '../generated/pothos-types.js';
import { isUuid } from '../services/ids.js';
import { findTextProblem } from '../services/text.js';

/**
 * Refuses malformed ids, cursors and page sizes before anything executes, so one bad argument answers
 * BAD_USER_INPUT naming it instead of failing deep in a query (and nulling the fields around it).
 */

interface ArgumentProblem {
  field: string;
  argument: string;
  message: string;
}

const models = getDatamodel().datamodel.models as unknown as Record<
  string,
  {
    fields: readonly { name: string; type: string; isId: boolean; hasDefaultValue: boolean }[];
    uniqueIndexes: readonly { fields: readonly string[] }[];
  }
>;

/** The Prisma model behind a GraphQL type: the two names differ where the API renames one (BillingSubscription). */
function modelName(schema: GraphQLSchema, typename: string): string {
  const model = schema.getType(typename)?.extensions?.pothosPrismaModel;
  return typeof model === 'string' ? model : typename;
}

/** Ids the database generates are UUIDs; a value of any other shape cannot name a row. */
function isValidRowId(typename: string, id: string): boolean {
  if (id.length === 0 || id.length > 255) return false;
  const idField = models[typename]?.fields.find((field) => field.isId);
  if (idField?.type === 'String' && idField.hasDefaultValue) return isUuid(id);
  return true;
}

function describeGlobalIdProblem(
  schema: GraphQLSchema,
  value: unknown,
  allowed: { typename: string }[] | null,
): string | null {
  if (typeof value !== 'string') return 'must be an id string';
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(value);
  } catch {
    return 'is not an id this API issued';
  }
  if (allowed && allowed.length > 0) {
    if (!allowed.some(({ typename }) => typename === decoded.typename)) {
      return `must be the id of a ${allowed.map(({ typename }) => typename).join(' or ')}`;
    }
  } else {
    const type = schema.getType(decoded.typename);
    if (!isObjectType(type) || !type.getInterfaces().some((item) => item.name === 'Node')) {
      return 'is not an id this API issued';
    }
  }
  return isValidRowId(modelName(schema, decoded.typename), decoded.id) ? null : 'is not an id this API issued';
}

function connectionNodeType(field: GraphQLField<unknown, unknown>): string | null {
  const connection = getNamedType(field.type);
  if (!isObjectType(connection)) return null;
  const edges = connection.getFields().edges;
  if (!edges) return null;
  const edge = getNamedType(edges.type);
  if (!isObjectType(edge)) return null;
  const node = edge.getFields().node;
  return node ? getNamedType(node.type).name : null;
}

function isValidDate(part: unknown): boolean {
  if (part instanceof Date) return Number.isFinite(part.getTime());
  return typeof part === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(part) && Number.isFinite(Date.parse(part));
}

/**
 * A connection's cursor is its node's id, or, where the model has a compound unique key with the id (a cursor over
 * createdAt and id), the values of that key in order. Anything else cannot have come from this connection.
 */
function cursorMatchesModel(typename: string, decoded: unknown): boolean {
  const model = models[typename];
  const compoundKeys = model.uniqueIndexes.filter((index) => index.fields.length > 1 && index.fields.includes('id'));
  if (compoundKeys.length === 0) return typeof decoded === 'string' && isValidRowId(typename, decoded);
  if (!Array.isArray(decoded)) return false;
  return compoundKeys.some(
    (key) =>
      key.fields.length === decoded.length &&
      key.fields.every((name, index) => {
        const part = decoded[index];
        const field = model.fields.find((candidate) => candidate.name === name);
        if (field?.isId) return typeof part === 'string' && isValidRowId(typename, part);
        if (field?.type === 'DateTime') return isValidDate(part);
        if (field?.type === 'Int' || field?.type === 'Float') return typeof part === 'number' && Number.isFinite(part);
        return typeof part === 'string';
      }),
  );
}

function isValidCursor(typename: string | null, cursor: unknown): boolean {
  if (typeof cursor !== 'string' || cursor.length > 1024) return false;
  let decoded: unknown;
  try {
    const raw = decodeBase64(cursor);
    if (!raw.startsWith('GPC:')) return false;
    decoded = decodeCursorChunk(raw.slice(4));
  } catch {
    return false;
  }
  if (typename && models[typename]) return cursorMatchesModel(typename, decoded);
  return typeof decoded === 'string' || (Array.isArray(decoded) && decoded.length > 0);
}

/** Global ids nested in input objects (e.g. sourceImageId) are checked like top-level ones. */
function findNestedGlobalIdProblem(
  schema: GraphQLSchema,
  type: GraphQLInputType,
  value: unknown,
  path: string,
): { path: string; message: string } | null {
  if (value === null || value === undefined) return null;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return null;
    for (let index = 0; index < value.length; index++) {
      const problem = findNestedGlobalIdProblem(schema, nullable.ofType, value[index], `${path}.${index}`);
      if (problem) return problem;
    }
    return null;
  }
  if (!isInputObjectType(nullable) || typeof value !== 'object') return null;
  for (const field of Object.values(nullable.getFields())) {
    const fieldValue = (value as Record<string, unknown>)[field.name];
    const fieldPath = `${path}.${field.name}`;
    if (field.extensions?.isRelayGlobalID && fieldValue !== null && fieldValue !== undefined) {
      const allowed = (field.extensions.relayGlobalIDFor as { typename: string }[] | null) ?? null;
      const message = describeGlobalIdProblem(schema, fieldValue, allowed);
      if (message) return { path: fieldPath, message };
      continue;
    }
    const problem = findNestedGlobalIdProblem(schema, field.type, fieldValue, fieldPath);
    if (problem) return problem;
  }
  return null;
}

function returnsValidationErrorMember(field: GraphQLField<unknown, unknown>): boolean {
  const type = getNamedType(field.type);
  return isUnionType(type) && type.getTypes().some((member) => member.name === 'ValidationError');
}

function checkArgument(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  argument: GraphQLArgument,
  value: unknown,
): { argument: string; message: string } | null {
  const message = describeArgumentProblem(schema, field, argument, value);
  if (message) return { argument: argument.name, message };
  const nested = findNestedGlobalIdProblem(schema, argument.type, value, argument.name);
  return nested ? { argument: nested.path, message: nested.message } : null;
}

function describeArgumentProblem(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  argument: GraphQLArgument,
  value: unknown,
): string | null {
  if (value === null || value === undefined) return null;
  const isConnection = field.args.some((arg) => arg.name === 'after');
  if (isConnection && (argument.name === 'first' || argument.name === 'last')) {
    return typeof value === 'number' && value < 0 ? 'must be zero or more' : null;
  }
  if (isConnection && (argument.name === 'after' || argument.name === 'before')) {
    const nodeType = connectionNodeType(field);
    return isValidCursor(nodeType && modelName(schema, nodeType), value) ? null : 'is not a cursor this connection issued';
  }
  if (argument.extensions?.isRelayGlobalID) {
    const allowed = (argument.extensions.relayGlobalIDFor as { typename: string }[] | null) ?? null;
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      const message = describeGlobalIdProblem(schema, item, allowed);
      if (message) return message;
    }
    return null;
  }
  // Fields with a ValidationError member answer text problems with it, from the schema's own argument check.
  if (!returnsValidationErrorMember(field)) {
    const text = findTextProblem(value, '');
    if (text) return text.path ? `${text.path} ${text.message}` : text.message;
  }
  return null;
}

/** Per operation (Apollo keeps parsed documents, so an operation sent again is the same node): its fields that take arguments. */
const fieldsWithArguments = new WeakMap<OperationDefinitionNode, { field: GraphQLField<unknown, unknown>; node: FieldNode }[]>();

function fieldsWithArgumentsOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) {
  const known = fieldsWithArguments.get(operation);
  if (known) return known;
  const typeInfo = new TypeInfo(schema);
  const found: { field: GraphQLField<unknown, unknown>; node: FieldNode }[] = [];
  const definitions = document.definitions.filter(
    (definition) => definition === operation || definition.kind === Kind.FRAGMENT_DEFINITION,
  );
  for (const definition of definitions) {
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          const field = typeInfo.getFieldDef();
          if (field && field.args.length > 0) found.push({ field, node });
        },
      }),
    );
  }
  fieldsWithArguments.set(operation, found);
  return found;
}

export function findArgumentProblem(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): ArgumentProblem | null {
  for (const { field, node } of fieldsWithArgumentsOf(schema, document, operation)) {
    let values: Record<string, unknown>;
    try {
      values = getArgumentValues(field, node, variables);
    } catch {
      continue; // execution reports coercion errors itself
    }
    for (const argument of field.args) {
      const found = checkArgument(schema, field, argument, values[argument.name]);
      if (found) return { field: field.name, ...found };
    }
  }
  return null;
}

export function argumentGuard<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const problem = findArgumentProblem(schema, document, operation, request.variables ?? {});
          if (!problem) return;
          throw new GraphQLError(`Argument "${problem.argument}" of ${problem.field} ${problem.message}`, {
            extensions: { code: 'BAD_USER_INPUT', argument: problem.argument, http: { status: 400 } },
          });
        },
      };
    },
  };
}
