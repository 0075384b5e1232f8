import {
  SignJWT,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Config } from '../config.js';
import { AuthenticationError } from './errors.js';

export interface VerifiedIdentity {
  externalAuthId: string;
  email: string | null;
  /** Only the identity provider's `email_verified: true` lets an email link to an existing account or make an admin. */
  emailVerified: boolean;
  name: string | null;
}

export type TokenVerifier = (token: string) => Promise<VerifiedIdentity>;

export function createTokenVerifier(auth: Config['auth']): TokenVerifier {
  const keys: Uint8Array | JWTVerifyGetKey | null = auth.jwksUrl
    ? createRemoteJWKSet(new URL(auth.jwksUrl))
    : auth.jwtSecret
      ? new TextEncoder().encode(auth.jwtSecret)
      : null;
  const algorithms = auth.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];

  return async (token) => {
    if (!keys) throw new AuthenticationError('Authentication is not configured on this server');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys as Uint8Array, {
        algorithms,
        issuer: auth.issuer,
        audience: auth.audience,
      }));
    } catch (error) {
      throw new AuthenticationError(describeJoseError(error));
    }
    if (!payload.sub) throw new AuthenticationError('The token has no subject (sub) claim');
    return {
      externalAuthId: payload.sub,
      email: typeof payload.email === 'string' ? payload.email.toLowerCase() : null,
      emailVerified: payload.email_verified === true,
      name: typeof payload.name === 'string' ? payload.name : null,
    };
  };
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is invalid';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The token's ${error.claim} claim is not accepted`;
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
