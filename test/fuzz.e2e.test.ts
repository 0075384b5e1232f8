import { encodeBase64 } from '@pothos/core';
import { encodeGlobalID } from '@pothos/plugin-relay';
import fc from 'fast-check';
import {
  buildSchema,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';
import { readFileSync } from 'node:fs';
import { schema as liveSchema } from '../src/schema/index.js';
import { startBillingApp, WEBHOOK_SECRET } from './support/billing.js';
import type { FakeStripe } from './support/fake-stripe.js';
import type { TestApp } from './support/app.js';
import { leakIn, nowSeconds, post, postGraphQL, stateFingerprint } from './support/hostile.js';

/**
 * Schema-driven fuzzing over real HTTP: every root field of schema.graphql, called with hostile arguments as an
 * anonymous caller, a user and an admin, must never answer HTTP 500 or INTERNAL_SERVER_ERROR, never leak internals,
 * and change nothing when it refuses. The same for validly signed webhook bodies.
 *
 * Deterministic by default (FUZZ_SEED, FUZZ_RUNS calls per root field); `FUZZ_RUNS=200 npm test -- test/fuzz` runs
 * longer, and a failure prints the seed and path that replay it.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 6);
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);


const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

let api: TestApp;
let fake: FakeStripe;
type Role = 'anonymous' | 'user' | 'admin';
const tokens: Record<Role, string | null> = { anonymous: null, user: null, admin: null };
/** Ids a caller could get hold of: their own objects, other users' objects, and ids of things that do not exist. */
const ids: { global: string[]; raw: string[] } = { global: [], raw: [] };

const UNKNOWN_UUID = '01930000-0000-7000-8000-000000000000';
const CREATE_GENERATION = `mutation($input: CreateImageGenerationInput!) {
  createImageGeneration(input: $input) { __typename ... on ImageGeneration { id } }
}`;
const RESERVE = `mutation($input: ReserveCreditsInput!) {
  reserveCredits(input: $input) { __typename ... on ReservationResult { reservation { id } } }
}`;

async function ownedObjects(sub: string, email?: string) {
  const user = await api.signUp(sub, email ? { email } : {});
  const generation = await postGraphQL(api, CREATE_GENERATION, { input: { prompt: `a lighthouse for ${sub}` } }, user.token);
  const reservation = await postGraphQL(api, RESERVE, { input: { operation: 'AI_IMAGE_GENERATION', amount: 1 } }, user.token);
  const stored = await api.services.storage.write(user.userId, { name: 'a.png', contentType: 'image/png', data: Buffer.from('png') });
  const file = await api.services.storage.record(api.db.prisma, user.userId, stored);
  ids.global.push(user.id, generation.json.data.createImageGeneration.id, encodeGlobalID('StorageObject', file.id));
  const reservationId = reservation.json.data.reserveCredits.reservation?.id;
  ids.raw.push(user.userId, file.id, ...(reservationId ? [reservationId] : []));
  return user;
}

beforeAll(async () => {
  ({ api, fake } = await startBillingApp(false));
  tokens.user = (await ownedObjects('fuzz-user')).token;
  await ownedObjects('fuzz-other');
  tokens.admin = (await api.signUp('fuzz-admin', { email: 'admin@example.com' })).token;
  ids.global.push(
    encodeGlobalID('User', UNKNOWN_UUID),
    encodeGlobalID('ImageGeneration', UNKNOWN_UUID),
    encodeGlobalID('StorageObject', UNKNOWN_UUID),
    encodeGlobalID('Plan', UNKNOWN_UUID),
    encodeGlobalID('User', 'not-a-uuid'),
    encodeGlobalID('NoSuchType', UNKNOWN_UUID),
    encodeBase64('User:'),
    encodeBase64(':'),
  );
  ids.raw.push(UNKNOWN_UUID);
}, 60_000);

afterAll(async () => {
  await api.close();
  await fake.close();
});

// ------------------------------------------------------------------ arbitraries from the schema

const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'garbage',
    'a\u0000b',
    '\u0000',
    'x\ud800',
    '\udc00x',
    '💥🔥',
    '\u202e\u200b',
    `'; DROP TABLE "User"; --`,
    '../../../../etc/passwd',
    '%00%27',
    '<script>alert(1)</script>',
    '{"$ne":null}',
    'null',
    'AI_IMAGE_GENERATION',
    'plus',
    'pack-100',
    'http://localhost:3000/return',
    'javascript:alert(1)',
    'x'.repeat(10_000),
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

const hostileInt = fc.oneof(
  fc.constantFrom(-1, 0, 1, 4, 5, 100, 101, 2_147_483_647, -2_147_483_648, 1_000_000),
  fc.integer({ min: -2_147_483_648, max: 2_147_483_647 }),
  // wrong types, which variable coercion must refuse
  fc.constantFrom('5', 1.5, 2 ** 40, true, [], {}),
);

const hostileDate = fc.constantFrom(
  new Date().toISOString(),
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  'garbage',
  '',
  '2024-02-30T00:00:00Z',
  1_700_000_000,
);

const jsonKey = fc.oneof(fc.constantFrom('theme', 'a\u0000', 'x\ud800', '__proto__', 'constructor', ''), fc.string({ maxLength: 10 }));
const hostileJsonObject = fc.oneof(
  fc.dictionary(jsonKey, fc.oneof(hostileString, fc.integer(), fc.constant(null), fc.boolean()), { maxKeys: 4 }),
  fc.constant({ deep: { deeper: { deepest: ['x'.repeat(5000)] } } }),
  fc.constantFrom('not an object', 42, [1, 2], null),
);

function idArbitrary(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...ids.global),
    fc.constantFrom(...ids.raw),
    fc.constantFrom('garbage', '', '0', '-1', 'VXNlcjo=', 'Z2FyYmFnZQ==', 'x'.repeat(3000), 'a\u0000b'),
    hostileString,
    fc.constantFrom(12345, -1, 1.5, true),
  );
}

function scalarArbitrary(name: string): fc.Arbitrary<unknown> {
  switch (name) {
    case 'ID':
      return idArbitrary();
    case 'String':
      return hostileString;
    case 'Int':
    case 'NonNegativeInt':
    case 'PositiveInt':
      return hostileInt;
    case 'Float':
      return fc.oneof(fc.double(), fc.constantFrom(-1, 1e308, 'NaN'));
    case 'Boolean':
      return fc.oneof(fc.boolean(), fc.constantFrom('yes', 0));
    case 'DateTime':
      return hostileDate;
    case 'JSON':
    case 'JSONObject':
      return hostileJsonObject;
    case 'EmailAddress':
      return fc.oneof(fc.constantFrom('a@example.com', 'not-an-email', 'a\u0000@example.com'), hostileString);
    case 'URL':
      return fc.oneof(fc.constantFrom('http://localhost:3000/x', 'https://evil.example/x', 'not a url'), hostileString);
    case 'BigInt':
      return fc.oneof(fc.bigInt().map(String), fc.constantFrom('garbage', -1));
    default:
      return hostileString;
  }
}

function valueArbitrary(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    return fc.oneof({ weight: 12, arbitrary: valueArbitrary(type.ofType, depth) }, { weight: 1, arbitrary: fc.constant(null) });
  }
  if (isListType(type)) {
    return fc.oneof(fc.array(valueArbitrary(type.ofType as GraphQLInputType, depth + 1), { maxLength: 4 }), fc.constant('not a list'));
  }
  if (isEnumType(type)) {
    return fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...type.getValues().map((value) => value.name)) },
      { weight: 1, arbitrary: fc.constantFrom('NOPE', 'admin', '', 42) },
    );
  }
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant({});
    const fields = Object.values(type.getFields());
    const shape = Object.fromEntries(fields.map((field) => [field.name, valueArbitrary(field.type, depth + 1)]));
    const required = fields.filter((field) => isNonNullType(field.type)).map((field) => field.name);
    return fc.oneof(
      { weight: 8, arbitrary: fc.record(shape, { requiredKeys: required }) },
      { weight: 1, arbitrary: fc.constantFrom('not an object', 7, { unknownField: 1 }) },
    );
  }
  return scalarArbitrary(getNamedType(type).name);
}

/** Values for some of a field's arguments: required ones always (possibly wrong), optional ones sometimes. */
function argumentsArbitrary(args: readonly GraphQLArgument[]): fc.Arbitrary<Record<string, unknown>> {
  const shape = Object.fromEntries(args.map((arg) => [arg.name, valueArbitrary(arg.type)]));
  const required = args.filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined).map((arg) => arg.name);
  return fc.record(shape, { requiredKeys: required }) as fc.Arbitrary<Record<string, unknown>>;
}

// ------------------------------------------------------------------ documents

function selectionFor(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  if (isUnionType(named)) {
    const hasErrors = named.getTypes().some((member) => member.getInterfaces().some((item) => item.name === 'Error'));
    return `{ __typename ${hasErrors ? '... on Error { message code }' : ''} }`;
  }
  if (isInterfaceType(named)) return `{ __typename ${named.getFields().id ? 'id' : ''} }`;
  if (isObjectType(named)) {
    const fields = named.getFields();
    const connection = fields.totalCount && fields.edges ? 'totalCount pageInfo { endCursor } edges { cursor }' : '';
    return `{ __typename ${connection} }`;
  }
  return '';
}

interface Call {
  document: string;
  variables: Record<string, unknown>;
}

function argumentList(args: readonly GraphQLArgument[], values: Record<string, unknown>, prefix: string, declarations: string[], variables: Record<string, unknown>) {
  const used = args.filter((arg) => arg.name in values);
  for (const arg of used) {
    declarations.push(`$${prefix}${arg.name}: ${String(arg.type)}`);
    variables[`${prefix}${arg.name}`] = values[arg.name];
  }
  return used.length ? `(${used.map((arg) => `${arg.name}: $${prefix}${arg.name}`).join(', ')})` : '';
}

/** A call of one root field; for an object result, one of its argument-taking fields (e.g. a connection) too. */
function callArbitrary(operation: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): fc.Arbitrary<Call> {
  const named = getNullableType(field.type);
  const nestedFields = isObjectType(getNamedType(named))
    ? Object.values((getNamedType(named) as { getFields(): Record<string, GraphQLField<unknown, unknown>> }).getFields()).filter(
        (nested) => nested.args.length > 0,
      )
    : [];
  const nested = nestedFields.length
    ? fc.option(fc.constantFrom(...nestedFields).chain((nestedField) => argumentsArbitrary(nestedField.args).map((values) => ({ nestedField, values }))), { nil: null })
    : fc.constant(null);
  return fc.tuple(argumentsArbitrary(field.args), nested).map(([values, nestedCall]) => {
    const declarations: string[] = [];
    const variables: Record<string, unknown> = {};
    const args = argumentList(field.args, values, 'a_', declarations, variables);
    let selection = selectionFor(field.type);
    if (nestedCall) {
      const nestedArgs = argumentList(nestedCall.nestedField.args, nestedCall.values, 'n_', declarations, variables);
      selection = selection.replace(/^\{/, `{ nested: ${nestedCall.nestedField.name}${nestedArgs} ${selectionFor(nestedCall.nestedField.type)}`);
    }
    const header = declarations.length ? `(${declarations.join(', ')})` : '';
    return { document: `${operation} Fuzz${header} { ${field.name}${args} ${selection} }`, variables };
  });
}

// ------------------------------------------------------------------ properties

const roles = fc.constantFrom<Role>('anonymous', 'user', 'admin');

function problemsIn(response: { status: number; text: string; json: any }): string[] {
  const problems: string[] = [];
  if (response.status >= 500) problems.push(`HTTP ${response.status}`);
  const leak = leakIn(response.text);
  if (leak) problems.push(`leak (${leak})`);
  for (const error of response.json?.errors ?? []) {
    if (error.extensions?.code === 'INTERNAL_SERVER_ERROR') problems.push(`INTERNAL_SERVER_ERROR at ${JSON.stringify(error.path)}`);
  }
  if (response.json === undefined) problems.push(`a body that is not JSON: ${response.text.slice(0, 200)}`);
  return problems;
}

function refused(json: any, field: string): boolean {
  if (!json || json.errors?.length) return true;
  const result = json.data?.[field];
  return typeof result?.__typename === 'string' && /Error$/.test(result.__typename);
}

const rootFields = (['query', 'mutation'] as const).flatMap((operation) => {
  const type = operation === 'query' ? schema.getQueryType()! : schema.getMutationType()!;
  return Object.values(type.getFields()).map((field) => ({ operation, field }));
});

describe('fuzzing every root field of schema.graphql', () => {
  it('covers every root field the server has (schema.graphql is current)', () => {
    const served = [liveSchema.getQueryType()!, liveSchema.getMutationType()!].flatMap((type) => Object.keys(type.getFields()));
    expect(rootFields.map(({ field }) => field.name).sort()).toEqual(served.sort());
  });

  it.each(rootFields.map(({ operation, field }) => [`${operation} ${field.name}`, operation, field] as const))(
    '%s',
    async (_name, operation, field) => {
      await fc.assert(
        fc.asyncProperty(roles, callArbitrary(operation, field), async (role, call) => {
          const before = operation === 'mutation' ? await stateFingerprint(api) : null;
          const response = await postGraphQL(api, call.document, call.variables, tokens[role]);
          const problems = problemsIn(response);
          if (before && refused(response.json, field.name)) {
            const after = await stateFingerprint(api);
            if (JSON.stringify(after) !== JSON.stringify(before)) {
              problems.push(`state changed on a refusal: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
            }
          }
          if (problems.length === 0) return;
          const description = `${role} ${call.document} ${JSON.stringify(call.variables).slice(0, 500)}: ${problems.join('; ')}`;
          throw new Error(description);
        }),
        { numRuns: RUNS, seed: SEED + field.name.length * 7919 + field.name.charCodeAt(0), endOnFailure: true },
      );
    },
  );

  it('leaves the ledger summing to every balance', async () => {
    const mismatches = await api.db.prisma.$queryRawUnsafe<unknown[]>(`
      SELECT b."userId", b."allowanceRemaining" + b."grantedRemaining" AS balance,
             COALESCE((SELECT SUM(amount) FROM "CreditTransaction" t WHERE t."userId" = b."userId"), 0)::int AS ledger
      FROM "CreditBalance" b
      WHERE b."allowanceRemaining" + b."grantedRemaining"
            <> COALESCE((SELECT SUM(amount) FROM "CreditTransaction" t WHERE t."userId" = b."userId"), 0)`);
    expect(mismatches).toEqual([]);
  });
});

describe('fuzzing signed webhook bodies', () => {
  const envelope = fc.record(
    {
      id: fc.oneof(fc.constantFrom('evt_fuzz'), fc.string({ maxLength: 30 }).map((text) => `evt_${text}`), fc.integer(), fc.constant(null)),
      object: fc.constant('event'),
      type: fc.oneof(
        fc.constantFrom('customer.updated', 'invoice.paid', 'checkout.session.completed', 'customer.subscription.deleted', 'no.such.event'),
        fc.string({ maxLength: 20 }),
        fc.integer(),
        fc.constant({ name: 'invoice.paid' }),
      ),
      created: fc.oneof(fc.constant(nowSeconds()), fc.integer(), fc.constantFrom('yesterday', -1, 1e20, null)),
      data: fc.oneof(
        fc.record({ object: fc.dictionary(jsonKey, fc.oneof(hostileString, fc.integer(), fc.constant(null)), { maxKeys: 5 }) }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    },
    { requiredKeys: [] },
  );
  const bodies = fc.oneof({ weight: 4, arbitrary: envelope }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });

  it('answers 200 or 400 without leaking, and stores nothing it refuses', async () => {
    let sequence = 0;
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        // A fresh id each time, so a repeated id is a duplicate delivery rather than a refusal.
        const event = body && typeof body === 'object' && !Array.isArray(body) && typeof (body as { id?: unknown }).id === 'string'
          ? { ...(body as object), id: `${(body as { id: string }).id}_${sequence++}` }
          : body;
        const payload = JSON.stringify(event) ?? 'null';
        const signature = fake.sdk.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
        const before = await api.db.prisma.webhookEvent.count();
        const response = await post(api, '/webhooks/stripe', payload, { 'stripe-signature': signature });
        const problems = problemsIn(response);
        if (![200, 400].includes(response.status)) problems.push(`status ${response.status}`);
        if (response.status === 400 && (await api.db.prisma.webhookEvent.count()) !== before) problems.push('a refused event was stored');
        if (problems.length) throw new Error(`${payload.slice(0, 500)}: ${problems.join('; ')}`);
      }),
      { numRuns: RUNS * 10, seed: SEED, endOnFailure: true },
    );
  });
});
