import type { NextRequest } from 'next/server';
import { seeOther } from '@/lib/redirect';
import { DEV_TOKEN_COOKIE } from '@/lib/server-config';

export async function POST(request: NextRequest) {
  const response = seeOther('/sign-in');
  for (const cookie of request.cookies.getAll()) {
    if (cookie.name === DEV_TOKEN_COOKIE || cookie.name.includes('authjs.session-token')) {
      const secure = cookie.name.startsWith('__Secure-') ? '; Secure' : '';
      response.headers.append('set-cookie', `${cookie.name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure}`);
    }
  }
  return response;
}
