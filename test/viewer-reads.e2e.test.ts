import { startTestApp, type TestApp } from './support/app.js';

let api: TestApp;

beforeAll(async () => {
  api = await startTestApp({ CREDITS_RATE_LIMIT_PER_MINUTE: '1000000' });
});
afterAll(async () => {
  await api?.close();
});

describe('what a client reads before it acts', () => {
  it('canAfford answers the price, what the user has and the shortfall, and spends nothing', async () => {
    const { token, userId } = await api.signUp('affords');
    const ASK = `query($operation: String!, $quantity: Int) {
      viewer { canAfford(operation: $operation, quantity: $quantity) {
        __typename
        ... on Affordability { allowed cost available shortfall }
        ... on ValidationError { issues { path } }
      } }
    }`;
    const one = await api.graphql(ASK, { operation: 'AI_IMAGE_GENERATION' }, token);
    expect(one.body.data.viewer.canAfford).toEqual({ __typename: 'Affordability', allowed: true, cost: 10, available: 10, shortfall: 0 });
    const three = await api.graphql(ASK, { operation: 'AI_TEXT_CHAT', quantity: 3 }, token);
    expect(three.body.data.viewer.canAfford).toEqual({ __typename: 'Affordability', allowed: false, cost: 15, available: 10, shortfall: 5 });
    const unknown = await api.graphql(ASK, { operation: 'TELEPORT' }, token);
    expect(unknown.body.data.viewer.canAfford).toEqual({ __typename: 'ValidationError', issues: [{ path: 'operation' }] });
    const zero = await api.graphql(ASK, { operation: 'AI_TEXT_CHAT', quantity: 0 }, token);
    expect(zero.body.data.viewer.canAfford).toEqual({ __typename: 'ValidationError', issues: [{ path: 'quantity' }] });
    expect(await api.db.prisma.creditTransaction.count({ where: { userId } })).toBe(1);
  });

  it('a user written straight into the shared tables (as the Auth.js adapter does) has a balance from the first read', async () => {
    const user = await api.db.prisma.user.create({ data: { email: 'adapter@example.com', name: 'From Auth.js', emailVerified: new Date() } });
    expect(await api.db.prisma.creditBalance.findUnique({ where: { userId: user.id } })).toBeNull();
    const token = await api.token('authjs|adapter', { email: 'adapter@example.com' });
    const response = await api.graphql(`query { viewer { id email creditBalance { total allowanceTotal } } }`, {}, token);
    expect(response.body.data.viewer).toMatchObject({ email: 'adapter@example.com', creditBalance: { total: 10, allowanceTotal: 10 } });
    const ledger = await api.db.prisma.creditTransaction.findMany({ where: { userId: user.id } });
    expect(ledger.map((row) => [row.kind, row.amount])).toEqual([['ALLOWANCE_RESET', 10]]);
  });

  it('twenty concurrent updatePreferences calls, each adding its own key, keep all twenty', async () => {
    const { token } = await api.signUp('prefs-racer');
    await api.graphql(`mutation { updatePreferences(preferences: { theme: "dark", stale: true }) { __typename } }`, {}, token);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.graphql(`mutation($p: JSONObject!) { updatePreferences(preferences: $p) { __typename } }`, { p: { [`key${i}`]: i } }, token),
      ),
    );
    expect(responses.every((response) => response.body.data.updatePreferences.__typename === 'User')).toBe(true);
    await api.graphql(`mutation { updatePreferences(preferences: { stale: null }) { __typename } }`, {}, token);
    const { preferences } = (await api.graphql(`query { viewer { preferences } }`, {}, token)).body.data.viewer;
    expect(preferences).toEqual({ theme: 'dark', ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, i])) });
  });
});
