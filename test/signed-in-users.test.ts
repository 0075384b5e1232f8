import type { User } from '../src/generated/prisma/client.js';
import { spendsOnlyChecker } from '../src/http/authenticate.js';
import type { VerifiedIdentity } from '../src/services/auth.js';
import { SignedInUsers } from '../src/services/signed-in-users.js';

describe('requests served from a remembered sign-in: only spends, which check the user where the credits move', () => {
  const spendsOnly = spendsOnlyChecker();
  const DEDUCT = 'deductCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename }';

  it.each([
    ['a deduction', { query: `mutation { ${DEDUCT} }` }],
    ['a hold, with __typename beside it', { query: 'mutation M { reserveCredits(input: { operation: "AI_TEXT_CHAT" }) { __typename } __typename }' }],
    ['two spends under aliases', { query: `mutation { a: ${DEDUCT} b: ${DEDUCT} }` }],
    ['the named operation of several', { query: `mutation Spend { ${DEDUCT} } query Look { viewer { id } }`, operationName: 'Spend' }],
  ])('%s', (_what, body) => {
    expect(spendsOnly(body)).toBe(true);
  });

  it.each([
    ['a query', { query: '{ viewer { id } }' }],
    ['a spend beside another mutation', { query: `mutation { ${DEDUCT} updatePreferences(preferences: {}) { __typename } }` }],
    ['a fragment spread at the root', { query: `mutation { ...F } fragment F on Mutation { ${DEDUCT} }` }],
    ['an inline fragment at the root', { query: `mutation { ... on Mutation { ${DEDUCT} } }` }],
    ['the other operation of several', { query: `mutation Spend { ${DEDUCT} } query Look { viewer { id } }`, operationName: 'Look' }],
    ['several operations and no name', { query: `mutation Spend { ${DEDUCT} } query Look { viewer { id } }` }],
    ['a name no operation has', { query: `mutation Spend { ${DEDUCT} }`, operationName: 'Other' }],
    ['a document that does not parse', { query: `mutation { ${DEDUCT}` }],
    ['a batch', [{ query: `mutation { ${DEDUCT} }` }]],
    ['no query', { variables: {} }],
    ['no body', undefined],
  ])('not %s', (_what, body) => {
    expect(spendsOnly(body)).toBe(false);
    expect(spendsOnly(body)).toBe(false);
  });
});

describe('SignedInUsers', () => {
  const identity: VerifiedIdentity = { externalAuthId: 'sub-1', email: 'a@example.com', emailVerified: true, name: 'A', picture: null };
  const user = { id: 'u-1', role: 'USER', deletedAt: null, creditBalance: { allowanceRemaining: 5 } } as unknown as User;

  it('recalls a plain user for the same claims, without the relations read with them', () => {
    const users = new SignedInUsers();
    users.remember(identity, user);
    expect(users.recall(identity)).toEqual({ id: 'u-1', role: 'USER', deletedAt: null });
    expect(users.recall({ ...identity, name: 'Renamed' })).toBeNull();
    expect(users.recall({ ...identity, externalAuthId: 'sub-2' })).toBeNull();
  });

  it('never keeps an admin, and forgets a user by id', () => {
    const users = new SignedInUsers();
    users.remember(identity, { ...user, role: 'ADMIN' } as User);
    expect(users.recall(identity)).toBeNull();
    users.remember(identity, user);
    users.forget('u-1');
    expect(users.recall(identity)).toBeNull();
  });
});
