import { readFileSync } from 'node:fs';
import { getNamedType, isObjectType, printSchema, type GraphQLObjectType } from 'graphql';
import { schema } from '../src/schema/index.js';

const printed = `${printSchema(schema)}\n`;

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

  it('changes only on purpose', () => {
    expect(printed).toMatchSnapshot();
  });
});
