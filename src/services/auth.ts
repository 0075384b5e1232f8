import {
  SignJWT,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config.js';
import { AuthenticationError, AuthenticationUnavailableError } from './errors.js';
import { describeTextProblem } from './text.js';

export interface VerifiedIdentity {
  externalAuthId: string;
  email: string | null;
  /** Only the identity provider's `email_verified: true` lets an email link to an existing account or make an admin. */
  emailVerified: boolean;
  name: string | null;
}

export type TokenVerifier = (token: string) => Promise<VerifiedIdentity>;

/** Seconds a token's iat and nbf may lie ahead of this server's clock. */
export const CLOCK_SKEW_SECONDS = 60;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export function createTokenVerifier(auth: Config['auth']): TokenVerifier {
  // A KeyObject, made once: given raw bytes, jose imports the HMAC key again on every verification.
  const keys: KeyObject | JWTVerifyGetKey | null = auth.jwksUrl
    ? createRemoteJWKSet(new URL(auth.jwksUrl), { timeoutDuration: 3000, cooldownDuration: 30_000 })
    : auth.jwtSecret
      ? createSecretKey(Buffer.from(auth.jwtSecret, 'utf8'))
      : null;
  const algorithms = auth.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];

  return async (token) => {
    if (!keys) throw new AuthenticationError('Authentication is not configured on this server');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys as KeyObject, {
        algorithms,
        issuer: auth.issuer,
        audience: auth.audience,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_SKEW_SECONDS,
      }));
    } catch (error) {
      if (isKeySetUnavailable(error)) throw new AuthenticationUnavailableError();
      throw new AuthenticationError(describeJoseError(error));
    }
    return identityFrom(payload, auth.maxTokenLifetimeSeconds, Math.floor(Date.now() / 1000));
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
  };
}

function optionalClaim(payload: JWTPayload, claim: 'email' | 'name', maxLength: number): string | null {
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

export function extractBearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) throw new AuthenticationError('The Authorization header must be "Bearer <token>"');
  return match[1];
}

/** Signs an HS256 token the way an identity provider would; for local development and tests. */
export async function signToken(
  secret: string,
  claims: { sub: string; email?: string; name?: string; emailVerified?: boolean },
  options: { expiresIn?: string | number; issuer?: string; audience?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({
    email: claims.email,
    name: claims.name,
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
