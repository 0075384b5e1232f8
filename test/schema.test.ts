import { readFileSync } from 'node:fs';
import { printSchema } from 'graphql';
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

  it('changes only on purpose', () => {
    expect(printed).toMatchSnapshot();
  });
});
