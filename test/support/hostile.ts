import { SignJWT } from 'jose';
import type { TestApp } from './app.js';
import { TEST_JWT_SECRET } from './app.js';

/** What no response body may ever contain: database client messages, source excerpts, stack frames, file paths. */
const LEAKS: [string, RegExp][] = [
  ['a Prisma message', /prisma/i],
  ['a Prisma invocation excerpt', /invalid `/i],
  ['a stack frame', /\n\s+at\s|\bat .+:\d+:\d+/],
  ['a file path', /\/(?:work|home|usr|src|node_modules|tmp)\/|\.[cm]?[jt]s:\d+/],
  ['a PostgreSQL error', /\b(?:relation|column) ".+" does not exist|syntax for type|violates/i],
];

export function leakIn(text: string): string | null {
  for (const [what, pattern] of LEAKS) if (pattern.test(text)) return `${what}: ${text.slice(0, 300)}`;
  return null;
}

export function expectNoLeak(text: string) {
  expect(leakIn(text)).toBeNull();
}

/** Signs arbitrary claims with the test secret, exactly as given: no exp or iat unless the claims carry them. */
export function rawToken(claims: Record<string, unknown>, secret = TEST_JWT_SECRET) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function post(api: TestApp, path: string, body: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function postGraphQL(api: TestApp, query: string, variables: Record<string, unknown> = {}, token?: string | null) {
  return post(api, '/graphql', JSON.stringify({ query, variables }), token ? { authorization: `Bearer ${token}` } : {});
}

/**
 * Everything a refused request must leave alone: the ledger and balances (which must also still agree), and the
 * rows any mutation could write.
 */
export async function stateFingerprint(api: TestApp) {
  const [row] = await api.db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`
    SELECT
      (SELECT count(*) FROM "CreditTransaction")::int AS ledger_rows,
      (SELECT coalesce(sum(amount), 0) FROM "CreditTransaction")::int AS ledger_sum,
      (SELECT coalesce(sum("allowanceRemaining" + "grantedRemaining"), 0) FROM "CreditBalance")::int AS balance_sum,
      (SELECT count(*) FROM "CreditReservation")::int AS reservations,
      (SELECT count(*) FROM "ImageGeneration" WHERE "deletedAt" IS NULL)::int AS generations,
      (SELECT count(*) FROM "StorageObject" WHERE "deletedAt" IS NULL)::int AS files,
      (SELECT count(*) FROM "WebhookEvent")::int AS webhook_events,
      (SELECT count(*) FROM "AdminAuditLog")::int AS audit_rows,
      (SELECT string_agg(role::text || ':' || preferences::text, ',' ORDER BY id) FROM "User") AS users,
      (SELECT count(*) FROM "Plan")::int AS plans,
      (SELECT count(*) FROM "CreditPack")::int AS packs,
      (SELECT count(*) FROM "FeatureCost")::int AS feature_costs
  `);
  return row;
}
