import type autocannon from 'autocannon';

export interface Scenario {
  name: string;
  description: string;
  requests: (context: BenchContext) => autocannon.Request[];
}

export interface BenchContext {
  tokens: string[];
  /** Users with a rendered generation history. */
  historyTokens: string[];
  adminToken: string;
}

/** Answers with HTTP 200 that still are not what the scenario asked for: GraphQL errors or an error union member. */
export const unexpectedAnswers = { count: 0, sample: '' };

function isUnexpected(body: string): boolean {
  if (body.includes('"errors"')) return true;
  return /"__typename":"\w+Error"/.test(body);
}

const graphqlRequest = (token: string, query: string, variables: () => object = () => ({})): autocannon.Request => ({
  method: 'POST',
  path: '/graphql',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  setupRequest: (request) => ({ ...request, body: JSON.stringify({ query, variables: variables() }) }),
  onResponse: (_status, body) => {
    if (!isUnexpected(body)) return;
    unexpectedAnswers.count++;
    unexpectedAnswers.sample ||= body.slice(0, 300);
  },
});

let counter = 0;
export const scenarios: Scenario[] = [
  {
    name: 'viewer-only',
    description: 'viewer { id email } (baseline: auth + one user read)',
    requests: ({ tokens }) => tokens.map((token) => graphqlRequest(token, `{ viewer { id email } }`)),
  },
  {
    name: 'balance-read',
    description: 'viewer { creditBalance } for 200 users (the progress-bar query)',
    requests: ({ tokens }) =>
      tokens.map((token) =>
        graphqlRequest(token, `{ viewer { id creditBalance { total allowanceRemaining allowanceTotal nextResetAt } } }`),
      ),
  },
  {
    name: 'balance-read-with-usage',
    description: 'viewer { creditBalance { usedThisPeriod } } (adds the ledger aggregate)',
    requests: ({ tokens }) =>
      tokens.map((token) => graphqlRequest(token, `{ viewer { creditBalance { total usedThisPeriod } } }`)),
  },
  {
    name: 'deduct-many-users',
    description: 'deductCredits(AI_TEXT_CHAT at its feature cost, unique key), spread over 200 users',
    requests: ({ tokens }) =>
      tokens.map((token) =>
        graphqlRequest(
          token,
          `mutation($input: DeductCreditsInput!) { deductCredits(input: $input) { __typename } }`,
          () => ({ input: { operation: 'AI_TEXT_CHAT', idempotencyKey: `bench-${++counter}` } }),
        ),
      ),
  },
  {
    name: 'deduct-one-user',
    description: 'deductCredits(AI_TEXT_CHAT at its feature cost, unique key), all on one user (row-lock contention)',
    requests: ({ tokens }) => [
      graphqlRequest(
        tokens[0],
        `mutation($input: DeductCreditsInput!) { deductCredits(input: $input) { __typename } }`,
        () => ({ input: { operation: 'AI_TEXT_CHAT', idempotencyKey: `bench-one-${++counter}` } }),
      ),
    ],
  },
  {
    name: 'generation-history',
    description: 'viewer { imageGenerations(first: 10) } with outputs and signed URLs (the history page)',
    requests: ({ historyTokens }) =>
      historyTokens.map((token) =>
        graphqlRequest(
          token,
          `{ viewer { imageGenerations(first: 10) { totalCount pageInfo { endCursor hasNextPage }
              edges { node { id status prompt createdAt outputs { url width height sizeBytes contentType } } } } } }`,
        ),
      ),
  },
  {
    name: 'create-generation',
    description: 'createImageGeneration (validate, hold credits, insert, enqueue; rendering not included)',
    requests: ({ tokens }) =>
      tokens.map((token) =>
        graphqlRequest(
          token,
          `mutation($input: CreateImageGenerationInput!) { createImageGeneration(input: $input) { __typename } }`,
          () => ({ input: { prompt: `bench prompt ${counter}`, idempotencyKey: `bench-generation-${++counter}` } }),
        ),
      ),
  },
  {
    name: 'admin-users-page',
    description: 'admin users(first: 50) with each balance (batched)',
    requests: ({ adminToken }) => [
      graphqlRequest(adminToken, `{ users(first: 50) { totalCount edges { node { email creditBalance { total } } } } }`),
    ],
  },
];
