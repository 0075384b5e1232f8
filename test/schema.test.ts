import { readFileSync } from 'node:fs';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  printSchema,
  type GraphQLObjectType,
  type GraphQLUnionType,
} from 'graphql';
import { schema } from '../src/schema/index.js';

const printed = `${printSchema(schema)}\n`;

/** Every type, field, argument, input field and enum value of the schema that has no description. */
function undescribed(): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (!type.description?.trim()) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args) if (!arg.description?.trim()) missing.push(`${type.name}.${field.name}(${arg.name})`);
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) if (!value.description?.trim()) missing.push(`${type.name}.${value.name}`);
    }
  }
  return missing;
}

describe('GraphQL schema', () => {
  it('the committed schema.graphql matches the code', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    if (committed === printed) return;
    const committedLines = committed.split('\n');
    const line = printed.split('\n').findIndex((text, index) => text !== committedLines[index]) + 1;
    throw new Error(
      `schema.graphql is out of date with src/schema (first difference at line ${line}): ` +
        'run `npm run codegen` and commit the result.',
    );
  });

  it('has no subscription root: GraphQL subscriptions are not served', () => {
    expect(schema.getSubscriptionType()).toBeUndefined();
    expect(printed).not.toMatch(/^type Subscription\b/m);
  });

  it('names every type on purpose: nothing derived from a root field, connections named after their node', () => {
    const types = Object.values(schema.getTypeMap()).filter((type) => !type.name.startsWith('__'));
    const derived = types.filter((type) => /^(Query|Mutation)[A-Z]/.test(type.name)).map((type) => type.name);
    const misnamedConnections = types
      .filter((type): type is GraphQLObjectType => isObjectType(type) && type.name.endsWith('Connection'))
      .filter((connection) => {
        const edge = getNamedType(connection.getFields().edges.type) as GraphQLObjectType;
        const node = getNamedType(edge.getFields().node.type);
        return connection.name !== `${node.name}Connection` || edge.name !== `${node.name}Edge`;
      })
      .map((type) => type.name);
    expect({ derived, misnamedConnections }).toEqual({ derived: [], misnamedConnections: [] });
  });

  it('describes every type, field, argument, input field and enum value', () => {
    const missing = undescribed();
    if (missing.length > 0) throw new Error(`${missing.length} without a description:\n  ${missing.join('\n  ')}`);
  });

  it('has one ID rule: objects with an id implement Node, and foreign keys are objects, not raw ids', () => {
    const objects = Object.values(schema.getTypeMap()).filter(
      (type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'),
    );
    // Deletion names what it hid by the global id it had; it cannot be fetched again.
    const notNodes = objects
      .filter((type) => 'id' in type.getFields() && type.name !== 'Deletion')
      .filter((type) => !type.getInterfaces().some((iface) => iface.name === 'Node'))
      .map((type) => type.name);
    // Ids of Stripe objects and of checkout sessions are Stripe's own, shown for support and passed back to Stripe flows.
    const rawForeignKeys = objects.flatMap((type) =>
      Object.keys(type.getFields())
        .filter((name) => /Id$/.test(name) && !/^stripe/.test(name) && name !== 'sessionId')
        .map((name) => `${type.name}.${name}`),
    );
    expect({ notNodes, rawForeignKeys }).toEqual({ notNodes: [], rawForeignKeys: [] });
  });

  it('answers every mutation with a union of its result and typed errors, ValidationError always among them', () => {
    const mutations = Object.values(schema.getMutationType()!.getFields());
    const notUnions = mutations.filter((field) => !isUnionType(getNamedType(field.type))).map((field) => field.name);
    const withoutShared = mutations
      .filter((field) => isUnionType(getNamedType(field.type)))
      .filter((field) => !(getNamedType(field.type) as GraphQLUnionType).getTypes().some((type) => type.name === 'ValidationError'))
      .map((field) => field.name);
    const untypedErrors = mutations.flatMap((field) => {
      const union = getNamedType(field.type);
      if (!isUnionType(union)) return [];
      const errors = union.getTypes().filter((type) => type.name.endsWith('Error'));
      return errors.filter((type) => !type.getInterfaces().some((iface) => iface.name === 'Error')).map((type) => `${field.name}: ${type.name}`);
    });
    expect({ notUnions, withoutShared, untypedErrors }).toEqual({ notUnions: [], withoutShared: [], untypedErrors: [] });
  });

  it('changes only on purpose', () => {
    expect(printed).toMatchSnapshot();
  });
});
