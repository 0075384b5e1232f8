import { SignJWT } from 'jose';
import { loadConfig } from '../src/config.js';
import { CLOCK_SKEW_SECONDS, createTokenVerifier, rememberVerified, type VerifiedIdentity } from '../src/services/auth.js';
import { AuthenticationError } from '../src/services/errors.js';

const SECRET = 'a-token-secret-that-is-long-enough-for-hs256';
const auth = loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: SECRET }).auth;
const start = Date.UTC(2026, 10, 30, 12, 0, 0);

function token(claims: { sub: string; email?: string }, issuedAt: number, lifetimeSeconds: number, secret = SECRET) {
  return new SignJWT({ email: claims.email })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(issuedAt / 1000)
    .setExpirationTime(issuedAt / 1000 + lifetimeSeconds)
    .sign(new TextEncoder().encode(secret));
}

describe('a verified token is remembered until it expires', () => {
  it('answers the same identity again without weakening expiry: past exp and the skew allowance it is refused', async () => {
    let now = start;
    const verify = createTokenVerifier(auth, () => now);
    const signed = await token({ sub: 'remembered', email: 'r@example.com' }, start, 600);
    await expect(verify(signed)).resolves.toMatchObject({ externalAuthId: 'remembered', email: 'r@example.com' });
    now = start + 599_000;
    await expect(verify(signed)).resolves.toMatchObject({ externalAuthId: 'remembered' });
    now = start + (600 + CLOCK_SKEW_SECONDS + 1) * 1000;
    await expect(verify(signed)).rejects.toThrow('The token has expired');
  });

  it('remembers nothing of a refused token: a forged signature is refused every time', async () => {
    const verify = createTokenVerifier(auth, () => start);
    const forged = await token({ sub: 'forged' }, start, 600, 'another-secret-that-is-long-enough-for-hs256');
    await expect(verify(forged)).rejects.toThrow('The token signature is invalid');
    await expect(verify(forged)).rejects.toThrow('The token signature is invalid');
    const genuine = await token({ sub: 'forged' }, start, 600);
    await expect(verify(genuine)).resolves.toMatchObject({ externalAuthId: 'forged' });
    await expect(verify(forged)).rejects.toThrow('The token signature is invalid');
  });

  it('hands out an identity nobody can alter for the next request', async () => {
    const verify = createTokenVerifier(auth, () => start);
    const signed = await token({ sub: 'frozen', email: 'f@example.com' }, start, 600);
    const first = await verify(signed);
    expect(() => Object.assign(first, { externalAuthId: 'someone-else' })).toThrow(TypeError);
    await expect(verify(signed)).resolves.toMatchObject({ externalAuthId: 'frozen' });
  });
});

describe('a token brought by several requests at once', () => {
  const identity: VerifiedIdentity = { externalAuthId: 'page', email: null, emailVerified: false, name: null, picture: null, expiresAt: start / 1000 + 600 };
  const slowly = <T>(settle: () => T) => new Promise((resolve) => setTimeout(resolve, 20)).then(settle);

  it('is verified once for all of them, and each gets the same identity', async () => {
    const verify = createTokenVerifier(auth, () => start);
    const signed = await token({ sub: 'page', email: 'p@example.com' }, start, 600);
    const answers = await Promise.all(Array.from({ length: 20 }, () => verify(signed)));
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatchObject({ externalAuthId: 'page', email: 'p@example.com' });
    await expect(verify(signed)).resolves.toBe(answers[0]);
  });

  it('counts one verification for twenty requests that arrive while it runs', async () => {
    let verifications = 0;
    const verify = rememberVerified(() => slowly(() => (verifications++, identity)), () => start);
    await Promise.all(Array.from({ length: 20 }, () => verify('a-new-token')));
    await verify('a-new-token');
    expect(verifications).toBe(1);
  });

  it("a forged or altered token sent while its victim's genuine one is being verified gets a verification of its own, and is refused", async () => {
    const verify = createTokenVerifier(auth, () => start);
    const genuine = await token({ sub: 'page-victim', email: 'v@example.com' }, start, 600);
    const forged = await token({ sub: 'page-victim', email: 'v@example.com' }, start, 600, 'another-secret-that-is-long-enough-for-hs256');
    const signature = genuine.split('.')[2];
    const altered = `${genuine.slice(0, genuine.lastIndexOf('.'))}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'AB' : 'AA'}`;
    const [victim, ...attacks] = await Promise.allSettled([verify(genuine), verify(forged), verify(altered), verify(forged)]);
    expect(victim).toMatchObject({ status: 'fulfilled', value: { externalAuthId: 'page-victim' } });
    expect(attacks).toEqual(attacks.map(() => ({ status: 'rejected', reason: expect.objectContaining({ message: 'The token signature is invalid' }) })));
  });

  it('gives a refusal to every request waiting on it and keeps none of it', async () => {
    let verifications = 0;
    const verify = rememberVerified(
      () =>
        slowly(() => {
          verifications++;
          if (verifications === 1) throw new AuthenticationError('The token signature is invalid');
          return identity;
        }),
      () => start,
    );
    const answers = await Promise.allSettled(Array.from({ length: 5 }, () => verify('a-token')));
    expect(answers.map((answer) => answer.status)).toEqual(Array(5).fill('rejected'));
    expect(verifications).toBe(1);
    await expect(verify('a-token')).resolves.toMatchObject({ externalAuthId: 'page' });
    expect(verifications).toBe(2);
  });
});
