import {
  AdminUsersDocument,
  DeductCreditsDocument,
  DeleteUserDocument,
  GrantCreditsDocument,
  ReserveCreditsDocument,
  SetUserRoleDocument,
  StartGenerationDocument,
} from './generated/graphql.js';
import { member, startTestApp, type TestApp } from './support/app.js';

let api: TestApp;
let admin: { token: string; id: string; userId: string };
let alice: { token: string; id: string; userId: string };

beforeAll(async () => {
  api = await startTestApp();
  admin = await api.signUp('admin', { email: 'admin@example.com' });
  alice = await api.signUp('alice');
});

afterAll(() => api.close());

const PLAN_FIELDS = `__typename ... on Plan { key callToAction { type url } } ... on ValidationError { code issues { path message } }`;

describe('types that say what they hold', () => {
  it('refuses a plan call-to-action URL that is not http or https with a ValidationError, and stores nothing', async () => {
    for (const ctaUrl of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'not a url']) {
      const created = await api.graphql(
        `mutation($input: PlanInput!) { createPlan(input: $input) { ${PLAN_FIELDS} } }`,
        { input: { key: 'xss', name: 'XSS', tier: 'PLUS', creditsPerPeriod: 10, monthlyPriceCents: 100, yearlyPriceCents: 1000, ctaType: 'LINK', ctaUrl } },
        admin.token,
      );
      expect(created.body.data.createPlan).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
      expect(created.body.data.createPlan.issues[0].path).toContain('ctaUrl');
    }
    expect(await api.db.prisma.plan.count({ where: { key: 'xss' } })).toBe(0);
  });

  it('accepts an https call-to-action URL, serves it as a URL, and refuses to change it to javascript:', async () => {
    const created = await api.graphql(
      `mutation($input: PlanInput!) { createPlan(input: $input) { ${PLAN_FIELDS} } }`,
      { input: { key: 'team', name: 'Team', tier: 'PRO', creditsPerPeriod: 10, monthlyPriceCents: 100, yearlyPriceCents: 1000, ctaType: 'CONTACT', ctaUrl: 'https://example.com/sales' } },
      admin.token,
    );
    expect(created.body.data.createPlan).toEqual({ __typename: 'Plan', key: 'team', callToAction: { type: 'CONTACT', url: 'https://example.com/sales' } });
    const updated = await api.graphql(
      `mutation { updatePlan(key: "team", input: { ctaUrl: "javascript:alert(1)" }) { ${PLAN_FIELDS} } }`,
      {},
      admin.token,
    );
    expect(updated.body.data.updatePlan.__typename).toBe('ValidationError');
    expect((await api.db.prisma.plan.findUniqueOrThrow({ where: { key: 'team' } })).ctaUrl).toBe('https://example.com/sales');
  });
});

describe('declared scalars', () => {
  it('types email as EmailAddress, links as URL, and money as Int cents; no Float and no unused scalar is left', async () => {
    const { body } = await api.graphql(`{
      user: __type(name: "User") { fields { name type { name ofType { name } } } }
      revenue: __type(name: "CurrencyRevenue") { fields { name type { ofType { name } } } }
      schema: __schema { types { name kind } }
    }`, {}, alice.token);
    const email = body.data.user.fields.find((field: { name: string }) => field.name === 'email');
    expect(email.type.name).toBe('EmailAddress');
    for (const field of body.data.revenue.fields.filter((f: { name: string }) => f.name.endsWith('Cents'))) {
      expect(field.type.ofType.name).toBe('Int');
    }
    const scalars = body.data.schema.types.filter((type: { kind: string }) => type.kind === 'SCALAR').map((type: { name: string }) => type.name);
    expect(scalars.sort()).toEqual(['Boolean', 'DateTime', 'EmailAddress', 'Float', 'ID', 'Int', 'JSONObject', 'String', 'URL']);
  });
});

describe('one ID rule', () => {
  it('refetches catalog objects and ledger rows by their global id; another user reads them as missing', async () => {
    const plan = (await api.graphql(`{ allPlans { id key } }`, {}, admin.token)).body.data.allPlans[0];
    const refetched = await api.graphql(`query($id: ID!) { node(id: $id) { __typename ... on Plan { key } } }`, { id: plan.id });
    expect(refetched.body.data.node).toEqual({ __typename: 'Plan', key: plan.key });

    const bob = await api.signUp('bob-ids');
    await api.graphql(`mutation($u: ID!) { grantCredits(userId: $u, amount: 5, reason: "welcome") { __typename } }`, { u: bob.id }, admin.token);
    const ledger = await api.graphql(`{ viewer { creditTransactions(first: 1) { edges { node { id kind amount } } } } }`, {}, bob.token);
    const row = ledger.body.data.viewer.creditTransactions.edges[0].node;
    expect(row).toMatchObject({ kind: 'GRANT', amount: 5 });
    const NODE = `query($id: ID!) { node(id: $id) { __typename ... on CreditTransaction { amount } } }`;
    expect((await api.graphql(NODE, { id: row.id }, bob.token)).body.data.node).toEqual({ __typename: 'CreditTransaction', amount: 5 });
    expect((await api.graphql(NODE, { id: row.id }, alice.token)).body.data.node).toBeNull();
    expect((await api.graphql(NODE, { id: row.id }, admin.token)).body.data.node).toEqual({ __typename: 'CreditTransaction', amount: 5 });
  });
});

describe('admin reads', () => {
  const forbidden = (response: { body: { data?: any; errors?: { extensions?: Record<string, unknown> }[] } }) =>
    response.body.errors?.map((error) => error.extensions?.code);

  it('adminAuditLog lists admin actions filtered by actor, target, action and time; a non-admin is refused', async () => {
    const carol = await api.signUp('carol-audit');
    await api.graphql(`mutation($u: ID!) { setUserRole(userId: $u, role: PREMIUM, reason: "support") { __typename } }`, { u: carol.id }, admin.token);
    await api.graphql(`mutation($u: ID!) { grantCredits(userId: $u, amount: 3, reason: "sorry") { __typename } }`, { u: carol.id }, admin.token);
    const AUDIT = `query($actor: ID, $target: ID, $action: String, $from: DateTime, $to: DateTime) {
      adminAuditLog(actorId: $actor, target: $target, action: $action, from: $from, to: $to, first: 10) {
        totalCount
        edges { node { id action targetType actor { id } target { __typename id } data } }
      }
    }`;
    const onCarol = await api.graphql(AUDIT, { actor: admin.id, target: carol.id }, admin.token);
    expect(onCarol.body.data.adminAuditLog.totalCount).toBe(2);
    expect(onCarol.body.data.adminAuditLog.edges.map((edge: any) => edge.node.action)).toEqual(['credits.grant', 'user.setRole']);
    expect(onCarol.body.data.adminAuditLog.edges[1].node).toMatchObject({
      targetType: 'User',
      actor: { id: admin.id },
      target: { __typename: 'User', id: carol.id },
    });

    const roleChanges = await api.graphql(AUDIT, { target: carol.id, action: 'user.setRole' }, admin.token);
    expect(roleChanges.body.data.adminAuditLog.totalCount).toBe(1);
    const future = await api.graphql(AUDIT, { target: carol.id, from: new Date(Date.now() + 60_000).toISOString() }, admin.token);
    expect(future.body.data.adminAuditLog.totalCount).toBe(0);
    const past = await api.graphql(AUDIT, { target: carol.id, to: new Date(Date.now() - 60_000).toISOString() }, admin.token);
    expect(past.body.data.adminAuditLog.totalCount).toBe(0);

    const entryId = onCarol.body.data.adminAuditLog.edges[0].node.id;
    const asUser = await api.graphql(AUDIT, { target: carol.id }, carol.token);
    expect(asUser.body.data?.adminAuditLog ?? null).toBeNull();
    expect(forbidden(asUser)).toEqual(['FORBIDDEN']);
    const nodeAsUser = await api.graphql(`query($id: ID!) { node(id: $id) { id } }`, { id: entryId }, carol.token);
    expect(nodeAsUser.body.data?.node ?? null).toBeNull();
    expect(await api.db.prisma.adminAuditLog.count({ where: { targetId: carol.userId } })).toBe(2);
  });

  it('users filters by role, tier, membership status and search; a non-admin is refused', async () => {
    await api.signUp('dave-filter', { email: 'dave@example.com', name: 'Dave Filter' });
    const admins = await api.execute(AdminUsersDocument, { role: 'ADMIN', first: 50 }, admin.token);
    expect(admins.body.data!.users.edges.map((edge) => edge.node.email)).toEqual(['admin@example.com']);
    const dave = await api.execute(AdminUsersDocument, { tier: 'FREE', membershipStatus: 'INACTIVE', search: 'dave filter', first: 50 }, admin.token);
    expect(dave.body.data!.users).toEqual({
      totalCount: 1,
      edges: [{ node: { id: expect.any(String), email: 'dave@example.com', role: 'USER', tier: 'FREE', membershipStatus: 'INACTIVE' } }],
    });
    expect((await api.execute(AdminUsersDocument, { tier: 'PRO' }, admin.token)).body.data!.users.totalCount).toBe(0);
    expect((await api.execute(AdminUsersDocument, { membershipStatus: 'ACTIVE', search: 'dave' }, admin.token)).body.data!.users.totalCount).toBe(0);

    const longSearch = await api.execute(AdminUsersDocument, { search: 'd'.repeat(201) }, admin.token);
    expect(longSearch.body).toEqual({
      data: null,
      errors: [expect.objectContaining({ message: 'search: must be at most 200 characters', extensions: { code: 'VALIDATION_FAILED' } })],
    });

    const asUser = await api.execute(AdminUsersDocument, { role: 'ADMIN' }, alice.token);
    expect(asUser.body.data?.users ?? null).toBeNull();
    expect(forbidden(asUser)).toEqual(['FORBIDDEN']);
  });

  it("an admin reads a user's subscription event history; the user themselves and other users cannot", async () => {
    const erin = await api.signUp('erin-subs');
    const subscription = await api.db.prisma.subscription.create({
      data: { stripeSubscriptionId: 'sub_erin', stripeCustomerId: 'cus_erin', userId: erin.userId, status: 'ACTIVE' },
    });
    await api.db.prisma.subscriptionEvent.create({
      data: { userId: erin.userId, subscriptionId: subscription.id, type: 'created', toStatus: 'ACTIVE', stripeEventId: 'evt_1' },
    });
    await api.db.prisma.subscriptionEvent.create({
      data: { userId: erin.userId, subscriptionId: subscription.id, type: 'status_changed', fromStatus: 'ACTIVE', toStatus: 'PAST_DUE', stripeEventId: 'evt_2' },
    });
    const HISTORY = `query($id: ID!) { node(id: $id) { ... on User {
      subscriptionEvents(first: 10) { totalCount edges { node { type fromStatus toStatus stripeEventId subscription { stripeSubscriptionId } } } }
    } } }`;
    const asAdmin = await api.graphql(HISTORY, { id: erin.id }, admin.token);
    expect(asAdmin.body.data.node.subscriptionEvents).toEqual({
      totalCount: 2,
      edges: [
        { node: { type: 'status_changed', fromStatus: 'ACTIVE', toStatus: 'PAST_DUE', stripeEventId: 'evt_2', subscription: { stripeSubscriptionId: 'sub_erin' } } },
        { node: { type: 'created', fromStatus: null, toStatus: 'ACTIVE', stripeEventId: 'evt_1', subscription: { stripeSubscriptionId: 'sub_erin' } } },
      ],
    });
    const asErin = await api.graphql(HISTORY, { id: erin.id }, erin.token);
    expect(asErin.body.data?.node?.subscriptionEvents ?? null).toBeNull();
    expect(forbidden(asErin)).toEqual(['FORBIDDEN']);
    // Another user does not even learn that erin exists.
    const asOther = await api.graphql(HISTORY, { id: erin.id }, alice.token);
    expect(asOther.body.data.node).toBeNull();
  });

  it("an admin reads a user's generations; another user cannot", async () => {
    const frank = await api.signUp('frank-gens');
    const created = await api.graphql(
      `mutation { createImageGeneration(input: { prompt: "a red kite" }) { __typename ... on ImageGeneration { id } } }`,
      {},
      frank.token,
    );
    expect(created.body.data.createImageGeneration.__typename).toBe('ImageGeneration');
    const GENERATIONS = `query($id: ID!) { node(id: $id) { ... on User { imageGenerations(first: 5) { totalCount edges { node { id prompt status } } } } } }`;
    const asAdmin = await api.graphql(GENERATIONS, { id: frank.id }, admin.token);
    expect(asAdmin.body.errors).toBeUndefined();
    expect(asAdmin.body.data.node.imageGenerations).toEqual({
      totalCount: 1,
      edges: [{ node: { id: created.body.data.createImageGeneration.id, prompt: 'a red kite', status: 'PENDING' } }],
    });
    const asOther = await api.graphql(GENERATIONS, { id: frank.id }, alice.token);
    expect(asOther.body.data.node).toBeNull();
    const listedByOther = await api.graphql(`{ users(first: 5) { edges { node { imageGenerations { totalCount } } } } }`, {}, alice.token);
    expect(forbidden(listedByOther)).toEqual(['FORBIDDEN']);
  });
});

describe('workspace features', () => {
  it('are gone: the unused Feature table is dropped by a migration', async () => {
    const [{ table }] = await api.db.prisma.$queryRaw<{ table: string | null }[]>`SELECT to_regclass('public."Feature"')::text AS table`;
    expect(table).toBeNull();
    const [{ plans }] = await api.db.prisma.$queryRaw<{ plans: string | null }[]>`SELECT to_regclass('public."Plan"')::text AS plans`;
    expect(plans).toBe('"Plan"');
  });
});

describe('one validation idiom', () => {
  const refusal = (path: string, message: string) => ({
    __typename: 'ValidationError',
    code: 'VALIDATION_FAILED',
    message: `${path}: ${message}`,
    issues: [{ path, message }],
  });

  async function stateOf(userId: string) {
    const { prisma } = api.db;
    return {
      user: await prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { role: true, deletedAt: true, banReason: true } }),
      balance: await prisma.creditBalance.findUniqueOrThrow({ where: { userId } }),
      ledgerRows: await prisma.creditTransaction.count({ where: { userId } }),
      generations: await prisma.imageGeneration.count({ where: { userId } }),
      auditRows: await prisma.adminAuditLog.count(),
    };
  }

  it('a reason over 500 characters answers the same ValidationError member on setUserRole, grantCredits and deleteUser, and changes nothing', async () => {
    const target = await api.signUp('reason-target');
    const before = await stateOf(target.userId);
    const reason = 'x'.repeat(501);
    const expected = refusal('reason', 'must be at most 500 characters');
    const role = await api.execute(SetUserRoleDocument, { userId: target.id, role: 'BANNED', reason }, admin.token);
    const grant = await api.execute(GrantCreditsDocument, { userId: target.id, amount: 5, reason }, admin.token);
    const deletion = await api.execute(DeleteUserDocument, { userId: target.id, reason }, admin.token);
    expect([role.status, grant.status, deletion.status]).toEqual([200, 200, 200]);
    expect(role.body).toEqual({ data: { setUserRole: expected } });
    expect(grant.body).toEqual({ data: { grantCredits: expected } });
    expect(deletion.body).toEqual({ data: { deleteUser: expected } });
    expect(await stateOf(target.userId)).toEqual(before);
  });

  it('a malformed idempotency key answers the same ValidationError member on deductCredits, reserveCredits and createImageGeneration, and changes nothing', async () => {
    const user = await api.signUp('key-checker');
    const before = await stateOf(user.userId);
    const idempotencyKey = 'has spaces ✓';
    const deducted = await api.execute(DeductCreditsDocument, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey } }, user.token);
    const reserved = await api.execute(ReserveCreditsDocument, { input: { operation: 'AI_TEXT_CHAT', idempotencyKey } }, user.token);
    const started = await api.execute(StartGenerationDocument, { input: { prompt: 'a kite', idempotencyKey } }, user.token);
    const expected = refusal('idempotencyKey', 'must be 1-128 letters, digits, or . _ : -');
    expect(deducted.body).toEqual({ data: { deductCredits: expected } });
    expect(reserved.body).toEqual({ data: { reserveCredits: expected } });
    expect(started.body).toEqual({ data: { createImageGeneration: expected } });
    expect(await stateOf(user.userId)).toEqual(before);
  });

  it('every problem of one input comes back at once, each under its own path', async () => {
    const user = await api.signUp('many-problems');
    const started = await api.execute(StartGenerationDocument, { input: { prompt: ' ', count: 9, idempotencyKey: '' } }, user.token);
    const refused = member(started.body.data!.createImageGeneration, 'ValidationError');
    expect(refused.issues.map((issue) => issue.path).sort()).toEqual(['count', 'idempotencyKey', 'prompt']);
    expect(refused.message).toBe(refused.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  });
});
