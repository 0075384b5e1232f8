import { encode } from '@auth/core/jwt';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

type KeyLike = CryptoKey;
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';

const VIEWER = `query { viewer { email role } }`;
const AUTHJS_SECRET = 'the-auth-secret-of-the-next-js-app-0123456789';

let jwksServer: Server;
let jwksRequests = 0;
let rsaKey: KeyLike;
let ecKey: KeyLike;
let strangerKey: KeyLike;
let api: TestApp;

beforeAll(async () => {
  const rsa = await generateKeyPair('RS256');
  const ec = await generateKeyPair('ES256');
  const stranger = await generateKeyPair('RS256');
  rsaKey = rsa.privateKey;
  ecKey = ec.privateKey;
  strangerKey = stranger.privateKey;
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  jwksServer = createServer((_request, response) => {
    jwksRequests++;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const { port } = jwksServer.address() as AddressInfo;
  api = await startTestApp({
    AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    AUTH_ISSUER: 'https://issuer.example.com/',
    AUTH_AUDIENCE: 'imagegen-api',
    AUTHJS_SECRET,
  });
});

afterAll(async () => {
  await api.close();
  await new Promise((resolve) => jwksServer.close(resolve));
});

function token(
  key: KeyLike,
  alg: 'RS256' | 'ES256',
  kid: string,
  claims: { sub?: string; iss?: string; aud?: string } = {},
) {
  return new SignJWT({ email: 'jwks-user@example.com', name: 'Jay' })
    .setProtectedHeader({ alg, kid })
    .setSubject(claims.sub ?? 'oidc|jay')
    .setIssuer(claims.iss ?? 'https://issuer.example.com/')
    .setAudience(claims.aud ?? 'imagegen-api')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

describe('authentication through a JWKS endpoint (Clerk, Auth0, NextAuth)', () => {
  it('accepts RS256 and ES256 tokens signed by keys the JWKS publishes', async () => {
    const rs = await api.graphql(VIEWER, {}, await token(rsaKey, 'RS256', 'rsa-1'));
    expect(rs.body).toEqual({ data: { viewer: { email: 'jwks-user@example.com', role: 'USER' } } });
    const es = await api.graphql(VIEWER, {}, await token(ecKey, 'ES256', 'ec-1'));
    expect(es.body.data.viewer.email).toBe('jwks-user@example.com');
    expect(jwksRequests).toBeGreaterThanOrEqual(1);
  });

  it('rejects a token signed by a key the JWKS does not publish', async () => {
    const response = await api.graphql(VIEWER, {}, await token(strangerKey, 'RS256', 'rsa-1', { sub: 'mallory' }));
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0].message).toBe('The token signature is invalid');
    expect(await api.db.prisma.user.count({ where: { externalAuthId: 'mallory' } })).toBe(0);
  });

  it('rejects an HS256 token signed with the public key material or a shared secret', async () => {
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setIssuer('https://issuer.example.com/')
      .setAudience('imagegen-api')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('development-only-secret-change-me-0000'));
    const response = await api.graphql(VIEWER, {}, hs);
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('checks the issuer and the audience', async () => {
    const wrongIssuer = await api.graphql(VIEWER, {}, await token(rsaKey, 'RS256', 'rsa-1', { iss: 'https://evil.example.com/' }));
    expect(wrongIssuer.status).toBe(401);
    expect(wrongIssuer.body.errors?.[0].message).toBe("The token's iss claim is not accepted");
    const wrongAudience = await api.graphql(VIEWER, {}, await token(rsaKey, 'RS256', 'rsa-1', { aud: 'another-api' }));
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.body.errors?.[0].message).toBe("The token's aud claim is not accepted");
  });

  it('serves an RS256 token from the identity provider and an Auth.js session token on the same server', async () => {
    const rs = await api.graphql(VIEWER, {}, await token(rsaKey, 'RS256', 'rsa-1', { sub: 'oidc|both' }));
    // The address belongs to an earlier user, and this token does not say it is verified: the user has no email.
    expect(rs.body.data.viewer).toEqual({ email: null, role: 'USER' });
    expect(await api.db.prisma.user.count({ where: { externalAuthId: 'oidc|both' } })).toBe(1);
    const row = await api.db.prisma.user.create({ data: { name: 'Ada', email: 'ada-authjs@example.com', emailVerified: null } });
    const session = await encode({
      token: { sub: row.id, name: row.name, email: row.email, picture: null },
      secret: AUTHJS_SECRET,
      salt: 'authjs.session-token',
    });
    const authJs = await api.graphql(VIEWER, {}, session);
    expect(authJs.body.data.viewer).toEqual({ email: 'ada-authjs@example.com', role: 'USER' });
  });
});
