/** Where the GraphQL API listens, as seen from this server (the browser only ever talks to this app). */
export const apiUrl = () => (process.env.API_URL ?? 'http://localhost:4000').replace(/\/$/, '');

/**
 * Development sign-in mints tokens for any email, so it exists only under `next dev` or when DEV_SIGN_IN=true (the
 * browser tests); a deployed app signs in through Auth.js or its identity provider.
 */
export const devSignInEnabled = () => process.env.DEV_SIGN_IN === 'true' || process.env.NODE_ENV === 'development';

/** The API's own development default, used only when AUTH_JWT_SECRET is unset under `next dev`. */
const API_DEVELOPMENT_SECRET = 'development-only-secret-change-me-0000';

export function devTokenSecret(): string | null {
  if (!devSignInEnabled()) return null;
  return process.env.AUTH_JWT_SECRET || (process.env.NODE_ENV === 'development' ? API_DEVELOPMENT_SECRET : null);
}

export const authJsEnabled = () => Boolean(process.env.AUTHJS_SECRET);

export const DEV_TOKEN_COOKIE = 'dev-token';
