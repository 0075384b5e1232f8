import { SignJWT } from 'jose';
import { NextResponse, type NextRequest } from 'next/server';
import { seeOther } from '@/lib/redirect';
import { DEV_TOKEN_COOKIE, devTokenSecret } from '@/lib/server-config';

const LIFETIME_SECONDS = 60 * 60;

/**
 * Development sign-in: an HS256 token with the claims an identity provider would give (sub, email, name,
 * email_verified), signed with the API's AUTH_JWT_SECRET, kept in an httpOnly cookie.
 */
export async function POST(request: NextRequest) {
  const secret = devTokenSecret();
  if (!secret) return NextResponse.json({ error: 'Development sign-in is off on this server' }, { status: 404 });
  const form = await request.formData();
  const email = String(form.get('email') ?? '').trim().toLowerCase();
  const name = String(form.get('name') ?? '').trim() || email.split('@')[0];
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) {
    return seeOther('/sign-in?error=email');
  }
  let jwt = new SignJWT({ email, name, email_verified: true })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(`dev|${email}`)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`);
  if (process.env.AUTH_ISSUER) jwt = jwt.setIssuer(process.env.AUTH_ISSUER);
  if (process.env.AUTH_AUDIENCE) jwt = jwt.setAudience(process.env.AUTH_AUDIENCE);
  const token = await jwt.sign(new TextEncoder().encode(secret));
  const response = seeOther('/');
  const secure = request.nextUrl.protocol === 'https:' ? '; Secure' : '';
  response.headers.append('set-cookie', `${DEV_TOKEN_COOKIE}=${token}; Path=/; Max-Age=${LIFETIME_SECONDS}; HttpOnly; SameSite=Lax${secure}`);
  return response;
}
