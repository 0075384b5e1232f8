import {
  SignJWT,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config.js';
import type { User } from '../generated/prisma/client.js';
import { AccountBannedError, AuthenticationError, AuthenticationUnavailableError, type DomainError } from './errors.js';
import { describeTextProblem } from './text.js';

export interface VerifiedIdentity {
  /** The identity provider's subject; for an Auth.js session, `authjs:` and the user's row id. */
  externalAuthId: string;
  /** Auth.js sessions only: the `User` row the Auth.js Prisma adapter created, which is this user. */
  userId?: string;
  email: string | null;
  /**
   * Only a verified email links to an existing account, makes an admin or replaces the stored email: the identity
   * provider's `email_verified: true`. Auth.js tokens carry no such claim by default, so for them `users.provision`
   * also counts the adapter row's own `emailVerified` (see there).
   */
  emailVerified: boolean;
  name: string | null;
  /** The `picture` claim (a URL), stored as the user's image. */
  picture: string | null;
  /** The token's exp claim, in seconds since the epoch; absent when the identity did not come from a token. */
  expiresAt?: number;
}

export type TokenVerifier = (token: string) => Promise<VerifiedIdentity>;

/** Seconds a token's iat and nbf may lie ahead of this server's clock. */
export const CLOCK_SKEW_SECONDS = 60;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

const AUTHJS_SUBJECT_PREFIX = 'authjs:';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let authJsDecode: Promise<typeof import('@auth/core/jwt').decode> | undefined;
/** Loaded on the first Auth.js token: processes that never see one do not pay for it. */
function loadAuthJsDecode() {
  authJsDecode ??= import('@auth/core/jwt').then((module) => module.decode);
  return authJsDecode;
}

/** A compact JWE has five parts; a signed JWT three. */
function isEncryptedToken(token: string): boolean {
  return token.split('.').length === 5;
}

/** Distinct tokens whose verification is remembered: a client sends the same token with every request until it expires. */
const VERIFIED_TOKENS_KEPT = 10_000;

export function createTokenVerifier(auth: Config['auth'], clock: () => number = Date.now): TokenVerifier {
  const verifySignedToken = createSignedTokenVerifier(auth, clock);
  const authJs = auth.authJs;
  const verify: TokenVerifier = authJs
    ? (token) => (isEncryptedToken(token) ? verifyAuthJsSession(token, authJs, clock) : verifySignedToken(token))
    : verifySignedToken;
  return rememberVerified(verify, clock);
}

/**
 * A token's signature and claims verify the same way every time, so the identity it proved is kept until its exp
 * (no later: the verifier itself would accept it a little longer, within CLOCK_SKEW_SECONDS). Only successes are
 * kept. Whether the account may be served (ban, deletion) is not part of this: it is read from the database on every
 * request.
 *
 * Requests that bring a token while it is being verified wait for that verification instead of starting their own: a
 * page that loads several queries at once sends its new token with each of them. A refusal is given to every one of
 * them and, like any refusal, not kept.
 */
export function rememberVerified(verify: TokenVerifier, clock: () => number): TokenVerifier {
  const verified = new LRUCache<string, VerifiedIdentity>({ max: VERIFIED_TOKENS_KEPT });
  const verifying = new Map<string, Promise<VerifiedIdentity>>();
  const verifyAndRemember = async (token: string) => {
    const identity = Object.freeze(await verify(token));
    if (identity.expiresAt !== undefined) verified.set(token, identity);
    return identity;
  };
  return (token) => {
    const known = verified.get(token);
    if (known && known.expiresAt! * 1000 > clock()) return Promise.resolve(known);
    let pending = verifying.get(token);
    if (!pending) {
      // The entry stays until this verification settles, so no other can replace it before `finally` removes it.
      pending = verifyAndRemember(token).finally(() => verifying.delete(token));
      verifying.set(token, pending);
    }
    return pending;
  };
}

/**
 * An Auth.js session token (the default `jwt` session strategy): decrypted by Auth.js's own `decode`, with the key it
 * derives from the secret and the cookie name. Its lifetime is Auth.js's `session.maxAge` (30 days by default), not
 * AUTH_MAX_TOKEN_LIFETIME_SECONDS: Auth.js renews it while the user is active.
 */
async function verifyAuthJsSession(
  token: string,
  authJs: NonNullable<Config['auth']['authJs']>,
  clock: () => number,
): Promise<VerifiedIdentity> {
  const decode = await loadAuthJsDecode();
  let payload: JWTPayload | null;
  try {
    payload = await decode({ token, secret: authJs.secret, salt: authJs.cookieName });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_JWT_EXPIRED') throw new AuthenticationError('The token has expired');
    if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      const claim = (error as { claim?: unknown }).claim;
      if (claim === 'nbf') throw new AuthenticationError('The token is not valid yet (nbf is in the future)');
      throw new AuthenticationError(`The token's ${String(claim)} claim is not accepted`);
    }
    throw new AuthenticationError('The session token cannot be decrypted: wrong AUTHJS_SECRET or AUTHJS_COOKIE_NAME, or altered');
  }
  if (!payload) throw new AuthenticationError('The token is malformed or cannot be verified');
  if (typeof payload.exp !== 'number') throw new AuthenticationError('The token has no expiry (exp) claim');
  const { sub } = payload;
  if (typeof sub !== 'string' || !UUID.test(sub)) {
    throw new AuthenticationError("The session's sub claim must be the id of a User row (Auth.js with the Prisma adapter on this database)");
  }
  const userId = sub.toLowerCase();
  return {
    externalAuthId: `${AUTHJS_SUBJECT_PREFIX}${userId}`,
    userId,
    email: optionalClaim(payload, 'email', 320)?.toLowerCase() ?? null,
    emailVerified: payload.email_verified === true,
    name: optionalClaim(payload, 'name', 200),
    picture: optionalClaim(payload, 'picture', 2048),
    expiresAt: payload.exp,
  };
}

function createSignedTokenVerifier(auth: Config['auth'], clock: () => number): TokenVerifier {
  // A KeyObject, made once: given raw bytes, jose imports the HMAC key again on every verification.
  const keys: KeyObject | JWTVerifyGetKey | null = auth.jwksUrl
    ? createRemoteJWKSet(new URL(auth.jwksUrl), { timeoutDuration: 3000, cooldownDuration: 30_000 })
    : auth.jwtSecret
      ? createSecretKey(Buffer.from(auth.jwtSecret, 'utf8'))
      : null;
  const algorithms = auth.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];

  return async (token) => {
    if (!keys) {
      throw new AuthenticationError(
        auth.authJs ? 'This server accepts only Auth.js session tokens' : 'Authentication is not configured on this server',
      );
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys as KeyObject, {
        algorithms,
        issuer: auth.issuer,
        audience: auth.audience,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(clock()),
      }));
    } catch (error) {
      if (isKeySetUnavailable(error)) throw new AuthenticationUnavailableError();
      throw new AuthenticationError(describeJoseError(error));
    }
    return identityFrom(payload, auth.maxTokenLifetimeSeconds, Math.floor(clock() / 1000));
  };
}

function identityFrom(payload: JWTPayload, maxLifetimeSeconds: number, nowSeconds: number): VerifiedIdentity {
  const { sub, exp, iat } = payload;
  if (sub === undefined) throw new AuthenticationError('The token has no subject (sub) claim');
  if (typeof sub !== 'string' || sub.trim() === '' || sub.length > 255 || CONTROL_CHARACTERS.test(sub) || describeTextProblem(sub)) {
    throw new AuthenticationError("The token's sub claim must be a non-empty string of at most 255 printable characters");
  }
  if (typeof iat === 'number' && iat > nowSeconds + CLOCK_SKEW_SECONDS) {
    throw new AuthenticationError("The token's iat claim is in the future");
  }
  const issuedAt = typeof iat === 'number' ? iat : nowSeconds;
  if (typeof exp === 'number' && (exp - issuedAt > maxLifetimeSeconds || exp - nowSeconds > maxLifetimeSeconds + CLOCK_SKEW_SECONDS)) {
    throw new AuthenticationError(`The token lives longer than this server accepts (${maxLifetimeSeconds} seconds)`);
  }
  return {
    externalAuthId: sub,
    email: optionalClaim(payload, 'email', 320)?.toLowerCase() ?? null,
    emailVerified: payload.email_verified === true,
    name: optionalClaim(payload, 'name', 200),
    picture: optionalClaim(payload, 'picture', 2048),
    expiresAt: exp as number,
  };
}

function optionalClaim(payload: JWTPayload, claim: 'email' | 'name' | 'picture', maxLength: number): string | null {
  const value = payload[claim];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return null;
  if (value.length > maxLength || describeTextProblem(value) || CONTROL_CHARACTERS.test(value)) {
    throw new AuthenticationError(`The token's ${claim} claim must be printable text of at most ${maxLength} characters`);
  }
  return value;
}

/** The key set could not be fetched: a timeout, a refused connection or an answer that is not a key set. */
function isKeySetUnavailable(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return true;
  if (error instanceof joseErrors.JOSEError) return /JSON Web Key Set/i.test(error.message) && !(error instanceof joseErrors.JWKSNoMatchingKey);
  // fetch's own failures (refused, reset, DNS); compared by name, since they may come from another realm.
  const { name, message } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown };
  return (name === 'TypeError' && message === 'fetch failed') || name === 'AbortError' || name === 'TimeoutError';
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is invalid';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'exp' && error.reason === 'missing') return 'The token has no expiry (exp) claim';
    if (error.claim === 'nbf') return 'The token is not valid yet (nbf is in the future)';
    return `The token's ${error.claim} claim is not accepted`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm this server does not accept';
  return 'The token is malformed or cannot be verified';
}

/**
 * Whether a signed-in user may be served at all: null when they may, otherwise the error that refuses every request
 * they make. The one place bans and deletions are decided, for /graphql and /files alike; nothing caches it, so a
 * ban or an unban applies from the next request.
 */
export function refusalOf(user: Pick<User, 'role' | 'banReason' | 'deletedAt'>): DomainError | null {
  if (user.deletedAt) return new AuthenticationError('This account has been deleted');
  if (user.role === 'BANNED') return new AccountBannedError(user.banReason);
  return null;
}

export function extractBearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw new AuthenticationError('The Authorization header must be "Bearer <token>"');
  return match[1];
}

/** Signs an HS256 token the way an identity provider would; for local development and tests. */
export async function signToken(
  secret: string,
  claims: { sub: string; email?: string; name?: string; picture?: string; emailVerified?: boolean },
  options: { expiresIn?: string | number; issuer?: string; audience?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({
    email: claims.email,
    name: claims.name,
    picture: claims.picture,
    ...(claims.email && claims.emailVerified !== undefined ? { email_verified: claims.emailVerified } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h');
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
