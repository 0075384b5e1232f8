import { NextResponse, type NextRequest } from 'next/server';
import { DEV_TOKEN_COOKIE } from '@/lib/server-config';

export async function POST(request: NextRequest) {
  const response = NextResponse.redirect(new URL('/sign-in', request.url), 303);
  for (const cookie of request.cookies.getAll()) {
    if (cookie.name === DEV_TOKEN_COOKIE || cookie.name.includes('authjs.session-token')) response.cookies.delete(cookie.name);
  }
  return response;
}
