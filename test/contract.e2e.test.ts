import { startTestApp, type TestApp } from './support/app.js';

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
