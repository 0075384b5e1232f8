import { getToken } from 'next-auth/jwt';
import { cookies } from 'next/headers';
import type { NextRequest } from 'next/server';
import { DEV_TOKEN_COOKIE, authJsEnabled } from './server-config';

/** The token the API should see for this browser: the development token, or the Auth.js session cookie as it is. */
export async function bearerFor(request: NextRequest): Promise<string | null> {
  const devToken = request.cookies.get(DEV_TOKEN_COOKIE)?.value;
  if (devToken) return devToken;
  if (!authJsEnabled()) return null;
  const secureCookie = request.nextUrl.protocol === 'https:';
  const raw = await getToken({ req: request, secret: process.env.AUTHJS_SECRET, secureCookie, raw: true });
  return raw || null;
}

export async function hasSessionCookie(): Promise<boolean> {
  const jar = await cookies();
  return jar.has(DEV_TOKEN_COOKIE) || jar.getAll().some((cookie) => cookie.name.includes('authjs.session-token'));
}
