import { encode } from '@auth/core/jwt';
import { signToken } from '../src/services/auth.js';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './support/app.js';

const AUTHJS_SECRET = 'the-auth-secret-of-the-next-js-app-0123456789';
const VIEWER = `query { viewer { id email name } }`;

let api: TestApp;
beforeAll(async () => {
  api = await startTestApp({ AUTHJS_SECRET });
});
afterAll(async () => {
  await api.close();
});

const row = (externalAuthId: string) => api.db.prisma.user.findUniqueOrThrow({ where: { externalAuthId } });

describe('a returning user whose identity provider profile changed', () => {
  it('gets the new name and picture on the next request', async () => {
    await api.graphql(VIEWER, {}, await api.token('renamer', { name: 'Old Name', picture: 'https://img.example.com/old.png' }));
    const renamed = await api.graphql(VIEWER, {}, await api.token('renamer', { name: 'New Name', picture: 'https://img.example.com/new.png' }));
    expect(renamed.body.data.viewer).toMatchObject({ name: 'New Name', email: 'renamer@example.com' });
    expect((await row('renamer')).image).toBe('https://img.example.com/new.png');
  });

  it('shows the picture as the viewer image, and no image for a picture that is not a web address', async () => {
    const image = `query { viewer { image } }`;
    const withPicture = await api.graphql(image, {}, await api.token('pictured', { picture: 'https://img.example.com/me.png' }));
    expect(withPicture.body).toEqual({ data: { viewer: { image: 'https://img.example.com/me.png' } } });
    const scripted = await api.graphql(image, {}, await api.token('scripted', { picture: 'javascript:alert(1)' }));
    expect(scripted.body).toEqual({ data: { viewer: { image: null } } });
    expect((await api.graphql(image, {}, await api.token('bare'))).body).toEqual({ data: { viewer: { image: null } } });
  });

  it('keeps the stored name and picture when the token carries none', async () => {
    await api.graphql(VIEWER, {}, await api.token('quiet', { name: 'Quiet', picture: 'https://img.example.com/quiet.png' }));
    const bare = await signToken(TEST_JWT_SECRET, { sub: 'quiet' });
    expect((await api.graphql(VIEWER, {}, bare)).body.data.viewer).toMatchObject({ name: 'Quiet', email: 'quiet@example.com' });
    expect((await row('quiet')).image).toBe('https://img.example.com/quiet.png');
  });

  it('gets a new verified email; an unverified one is not taken', async () => {
    await api.graphql(VIEWER, {}, await api.token('mover', { email: 'mover@old.example.com' }));
    const unverified = await api.graphql(VIEWER, {}, await api.token('mover', { email: 'mover@new.example.com', emailVerified: false }));
    expect(unverified.body.data.viewer.email).toBe('mover@old.example.com');
    const verified = await api.graphql(VIEWER, {}, await api.token('mover', { email: 'Mover@New.example.com' }));
    expect(verified.body.data.viewer.email).toBe('mover@new.example.com');
    expect((await row('mover')).emailVerified).not.toBeNull();
  });

  it('marks the email verified once the provider says so', async () => {
    await api.graphql(VIEWER, {}, await api.token('late-verifier', { emailVerified: false }));
    expect((await row('late-verifier')).emailVerified).toBeNull();
    await api.graphql(VIEWER, {}, await api.token('late-verifier'));
    expect((await row('late-verifier')).emailVerified).not.toBeNull();
  });

  it('cannot take an address another verified account holds, and still signs in', async () => {
    await api.graphql(VIEWER, {}, await api.token('owner', { email: 'taken@example.com' }));
    await api.graphql(VIEWER, {}, await api.token('grabber', { email: 'grabber@example.com' }));
    const response = await api.graphql(VIEWER, {}, await api.token('grabber', { email: 'taken@example.com', name: 'Grabber Renamed' }));
    expect(response.status).toBe(200);
    expect(response.body.data.viewer).toMatchObject({ email: 'grabber@example.com', name: 'Grabber Renamed' });
    expect((await row('owner')).email).toBe('taken@example.com');
  });

  it('takes an address from an account that only claimed it unverified', async () => {
    await api.graphql(VIEWER, {}, await api.token('squatter', { email: 'wanted@example.com', emailVerified: false }));
    await api.graphql(VIEWER, {}, await api.token('rightful', { email: 'rightful@example.com' }));
    const response = await api.graphql(VIEWER, {}, await api.token('rightful', { email: 'wanted@example.com' }));
    expect(response.body.data.viewer.email).toBe('wanted@example.com');
    expect((await row('squatter')).email).toBeNull();
  });

  it('writes nothing when nothing changed', async () => {
    const token = await api.token('steady', { name: 'Steady', picture: 'https://img.example.com/steady.png' });
    await api.graphql(VIEWER, {}, token);
    const { id } = await row('steady');
    // Counts every UPDATE that reaches this user's row, whatever it sets.
    await api.db.prisma.$executeRawUnsafe(`CREATE TABLE steady_updates (n int)`);
    await api.db.prisma.$executeRawUnsafe(
      `CREATE FUNCTION count_steady_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO steady_updates VALUES (1); RETURN NEW; END $$`,
    );
    await api.db.prisma.$executeRawUnsafe(
      `CREATE TRIGGER steady_update AFTER UPDATE ON "User" FOR EACH ROW WHEN (OLD.id = '${id}') EXECUTE FUNCTION count_steady_update()`,
    );
    const updates = async () => Number((await api.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM steady_updates`))[0].n);

    for (let i = 0; i < 3; i++) {
      const again = await api.graphql(VIEWER, {}, await api.token('steady', { name: 'Steady', picture: 'https://img.example.com/steady.png' }));
      expect(again.body.data.viewer.name).toBe('Steady');
    }
    expect(await updates()).toBe(0);
    await api.graphql(VIEWER, {}, await api.token('steady', { name: 'Steady Renamed', picture: 'https://img.example.com/steady.png' }));
    expect(await updates()).toBe(1);
  });

  it('applies the claims of an Auth.js session token to the adapter row, the email only when verified', async () => {
    const user = await api.db.prisma.user.create({ data: { name: 'Ada', email: 'ada@example.com', emailVerified: null } });
    const session = (claims: Record<string, unknown>) =>
      encode({ token: { sub: user.id, name: 'Ada', email: 'ada@example.com', picture: null, ...claims }, secret: AUTHJS_SECRET, salt: 'authjs.session-token' });
    expect((await api.graphql(VIEWER, {}, await session({}))).body.data.viewer).toMatchObject({ name: 'Ada', email: 'ada@example.com' });

    const profile = { name: 'Ada L.', picture: 'https://img.example.com/ada.png' };
    const renamed = await api.graphql(VIEWER, {}, await session(profile));
    expect(renamed.body.data.viewer.name).toBe('Ada L.');
    // Without email_verified, a new address in an Auth.js token is not taken: the adapter never verified it.
    const unverified = await api.graphql(VIEWER, {}, await session({ ...profile, email: 'ada@new.example.com' }));
    expect(unverified.body.data.viewer.email).toBe('ada@example.com');
    const verified = await api.graphql(VIEWER, {}, await session({ ...profile, email: 'ada@new.example.com', email_verified: true }));
    expect(verified.body.data.viewer.email).toBe('ada@new.example.com');
    const stored = await api.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored).toMatchObject({ name: 'Ada L.', image: 'https://img.example.com/ada.png', email: 'ada@new.example.com' });
    expect(stored.emailVerified).not.toBeNull();
  });
});
