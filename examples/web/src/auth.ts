import NextAuth from 'next-auth';
import Credentials from 'next-auth/providers/credentials';

const developmentProvider = Credentials({
  id: 'development',
  name: 'Development',
  credentials: { email: { label: 'Email', type: 'email' }, name: { label: 'Name', type: 'text' } },
  authorize(credentials) {
    const email = String(credentials?.email ?? '').trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) return null;
    return { id: `dev|${email}`, email, name: String(credentials?.name ?? '').trim() || email.split('@')[0] };
  },
});

const devSignIn = process.env.DEV_SIGN_IN === 'true' || process.env.NODE_ENV === 'development';

/**
 * Auth.js with JWT sessions: its session cookie (an encrypted JWE) is what the API verifies with the same secret, so
 * the proxy under /api/graphql sends the cookie's value as the bearer token. Add your real providers here.
 */
export const { handlers, auth, signIn, signOut } = NextAuth({
  secret: process.env.AUTHJS_SECRET,
  trustHost: true,
  // The API refuses tokens that live longer than its AUTH_MAX_TOKEN_LIFETIME_SECONDS (24 h by default).
  session: { strategy: 'jwt', maxAge: 8 * 60 * 60 },
  pages: { signIn: '/sign-in' },
  providers: devSignIn ? [developmentProvider] : [],
  callbacks: {
    jwt({ token, account }) {
      // The development provider stands in for one that confirmed the address, as the dev token does.
      if (account?.provider === 'development') token.email_verified = true;
      return token;
    },
  },
});
