import type autocannon from 'autocannon';

/** What the load generator needs to build requests and check answers. */
export interface BenchContext {
  /** tokens[i] signs in as users[i]. */
  tokens: string[];
  users: { id: string; email: string }[];
  /** How many of the first users have a rendered history of at least HISTORY_PAGE generations. */
  historyUsers: number;
  adminToken: string;
  /** Prefix of this run's idempotency keys, so the checks after a scenario find exactly its rows. */
  keyPrefix: string;
  /** The price of one AI_TEXT_CHAT, what every deduction and hold in the bench costs. */
  cost: number;
}

/** What the load generator saw, beyond latency: answers that were wrong, and successful movements per user index. */
export interface Tally {
  wrong: number;
  sample: string;
  /** Per user index: deductions or holds the server confirmed. */
  moved: Record<number, number>;
}

export type Ceiling = 'pgbench -S' | 'pgbench -N';

export interface Scenario {
  name: string;
  description: string;
  /** The reference the throughput is compared with, and the lowest share of it that meets the target. */
  ceiling?: { of: Ceiling; target: number };
  /** Run again at this share of the measured peak, for the latency target (p99 below `p99Ms`). */
  paced?: { share: number; p99Ms: number };
  /** Moves credits: the ledger is checked afterwards. */
  moves?: 'deduct' | 'reserve';
  connections?: number;
  requests: (context: BenchContext, tally: Tally) => autocannon.Request[];
}

export const HISTORY_PAGE = 20;
export const ADMIN_PAGE = 100;

type Check = (data: any) => boolean;

function graphqlRequest(
  tally: Tally,
  token: string,
  query: string,
  check: Check,
  variables?: () => object,
  onSuccess?: () => void,
): autocannon.Request {
  const fixedBody = variables ? undefined : JSON.stringify({ query });
  return {
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(fixedBody ? { body: fixedBody } : { setupRequest: (request) => ({ ...request, body: JSON.stringify({ query, variables: variables!() }) }) }),
    onResponse: (status, body) => {
      let ok = false;
      try {
        const parsed = JSON.parse(body);
        ok = status === 200 && !parsed.errors && check(parsed.data);
      } catch {
        ok = false;
      }
      if (ok) return onSuccess?.();
      tally.wrong++;
      tally.sample ||= `HTTP ${status}: ${body.slice(0, 300)}`;
    },
  };
}

let counter = 0;
const nextKey = (context: BenchContext) => `${context.keyPrefix}-${process.pid}-${++counter}`;
const count = (tally: Tally, index: number) => () => {
  tally.moved[index] = (tally.moved[index] ?? 0) + 1;
};

const VIEWER = `{ viewer { id email creditBalance { total } subscription { status } } }`;
const DEDUCT = `mutation($input: DeductCreditsInput!) { deductCredits(input: $input) {
  __typename ... on CreditMovement { replayed transaction { amount } balance { total } } } }`;
const RESERVE = `mutation($input: ReserveCreditsInput!) { reserveCredits(input: $input) {
  __typename ... on ReservationResult { replayed reservation { amount status } } } }`;
const HISTORY = `{ viewer { imageGenerations(first: ${HISTORY_PAGE}) { pageInfo { hasNextPage endCursor }
  edges { node { id status prompt createdAt outputs { url width height sizeBytes contentType } } } } } }`;
const ADMIN_USERS = `{ users(first: ${ADMIN_PAGE}) { edges { node { id email creditBalance { total } subscription { status } } } } }`;

const deductRequest = (context: BenchContext, tally: Tally, index: number) =>
  graphqlRequest(
    tally,
    context.tokens[index],
    DEDUCT,
    (data) =>
      data.deductCredits.__typename === 'CreditMovement' &&
      data.deductCredits.replayed === false &&
      data.deductCredits.transaction.amount === -context.cost &&
      Number.isInteger(data.deductCredits.balance.total),
    () => ({ input: { operation: 'AI_TEXT_CHAT', idempotencyKey: nextKey(context) } }),
    count(tally, index),
  );

export const scenarios: Scenario[] = [
  {
    name: 'floor',
    description: '{ __typename } without a token: what HTTP and GraphQL cost before any SQL',
    requests: (_context, tally) => [graphqlRequest(tally, '', '{ __typename }', (data) => data.__typename === 'Query')],
  },
  {
    name: 'viewer',
    description: 'viewer { id email creditBalance { total } subscription { status } } over 200 users',
    ceiling: { of: 'pgbench -S', target: 0.05 },
    paced: { share: 0.7, p99Ms: 25 },
    requests: (context, tally) =>
      context.tokens.map((token, index) =>
        graphqlRequest(
          tally,
          token,
          VIEWER,
          (data) =>
            data.viewer.id !== undefined &&
            data.viewer.email === context.users[index].email &&
            Number.isInteger(data.viewer.creditBalance.total) &&
            data.viewer.subscription === null,
        ),
      ),
  },
  {
    name: 'deduct-50-users',
    description: 'deductCredits(AI_TEXT_CHAT, new key each time) over 50 users',
    ceiling: { of: 'pgbench -N', target: 0.3 },
    moves: 'deduct',
    requests: (context, tally) => Array.from({ length: 50 }, (_, index) => deductRequest(context, tally, index)),
  },
  {
    name: 'deduct-hot-user',
    description: 'deductCredits(AI_TEXT_CHAT, new key each time), all on one user (row-lock contention)',
    ceiling: { of: 'pgbench -N', target: 0.1 },
    moves: 'deduct',
    requests: (context, tally) => [deductRequest(context, tally, 50)],
  },
  {
    name: 'reserve-50-users',
    description: 'reserveCredits(AI_TEXT_CHAT, new key each time) over 50 users',
    ceiling: { of: 'pgbench -N', target: 0.3 },
    moves: 'reserve',
    requests: (context, tally) =>
      Array.from({ length: 50 }, (_, offset) => {
        const index = 60 + offset;
        return graphqlRequest(
          tally,
          context.tokens[index],
          RESERVE,
          (data) =>
            data.reserveCredits.__typename === 'ReservationResult' &&
            data.reserveCredits.replayed === false &&
            data.reserveCredits.reservation.amount === context.cost &&
            data.reserveCredits.reservation.status === 'HELD',
          () => ({ input: { operation: 'AI_TEXT_CHAT', idempotencyKey: nextKey(context) } }),
          count(tally, index),
        );
      }),
  },
  {
    name: 'history',
    description: `viewer { imageGenerations(first: ${HISTORY_PAGE}) } with outputs and signed URLs`,
    paced: { share: 0.5, p99Ms: 30 },
    requests: (context, tally) =>
      context.tokens.slice(0, context.historyUsers).map((token) =>
        graphqlRequest(tally, token, HISTORY, (data) => {
          const edges = data.viewer.imageGenerations.edges;
          return (
            edges.length === HISTORY_PAGE &&
            edges.every((edge: any) => edge.node.status === 'COMPLETED' && edge.node.outputs.length === 1 && edge.node.outputs[0].url)
          );
        }),
      ),
  },
  {
    name: 'admin-users',
    description: `admin users(first: ${ADMIN_PAGE}) with each balance and subscription`,
    connections: 10,
    requests: (context, tally) => [
      graphqlRequest(tally, context.adminToken, ADMIN_USERS, (data) => {
        const edges = data.users.edges;
        return edges.length === ADMIN_PAGE && edges.every((edge: any) => Number.isInteger(edge.node.creditBalance.total));
      }),
    ],
  },
];
