import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { expectNoLeak, postGraphQL } from './support/hostile.js';

/** A JWKS endpoint that cannot be reached is the identity provider's outage, not a bad token: 503 and Retry-After. */
let privateKey: CryptoKey;
let hanging: Server;
const apps: TestApp[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  ({ privateKey } = await generateKeyPair('RS256'));
  hanging = createServer(() => {
    // never answers
  });
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  hanging.closeAllConnections();
  await new Promise((resolve) => hanging.close(resolve));
});

function token() {
  return new SignJWT({ email: 'down@example.com' })
    .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
    .setSubject('oidc|down')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
}

async function expectUnavailable(api: TestApp) {
  const response = await postGraphQL(api, '{ viewer { id } }', {}, await token());
  expect(response.status).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(response.json.errors[0].extensions.code).toBe('AUTHENTICATION_UNAVAILABLE');
  expect(response.json.errors[0].message).toMatch(/try again/);
  expectNoLeak(response.text);

  const file = await fetch(`${api.url}/files/${randomUUID()}`, { headers: { authorization: `Bearer ${await token()}` } });
  expect(file.status).toBe(503);
  expect(file.headers.get('retry-after')).toBeTruthy();
}

describe('an unreachable JWKS endpoint', () => {
  it('on a closed port answers 503 with Retry-After', async () => {
    const api = await startTestApp({ AUTH_JWKS_URL: `http://127.0.0.1:${await freePort()}/.well-known/jwks.json` });
    apps.push(api);
    await expectUnavailable(api);
  });

  it('that never answers answers 503 with Retry-After after the fetch timeout', async () => {
    const { port } = hanging.address() as AddressInfo;
    const api = await startTestApp({ AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` });
    apps.push(api);
    await expectUnavailable(api);
  }, 30_000);

  it('that answers with an error status answers 503 too, while a key it does not publish is still a 401', async () => {
    let status = 500;
    const { publicKey } = await generateKeyPair('RS256');
    const other = { ...(await exportJWK(publicKey)), kid: 'other', alg: 'RS256', use: 'sig' };
    const server = createServer((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? JSON.stringify({ keys: [other] }) : 'oops');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const api = await startTestApp({ AUTH_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks` });
      apps.push(api);
      await expectUnavailable(api);
      status = 200;
      // The key set is re-fetched after jose's cooldown; a fresh verifier sees the published keys at once.
      const fresh = await startTestApp({ AUTH_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks` });
      apps.push(fresh);
      const response = await postGraphQL(fresh, '{ viewer { id } }', {}, await token());
      expect(response.status).toBe(401);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
