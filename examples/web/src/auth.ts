import { randomUUID } from 'node:crypto';
import NextAuth from 'next-auth';
import Credentials from 'next-auth/providers/credentials';
import pg from 'pg';

/**
 * The API accepts an Auth.js session whose `sub` is a row of its `User` table, as the Auth.js Prisma adapter creates
 * them on sign-in. A real provider with the adapter does that; the development provider does the adapter's
 * getUserByEmail / createUser itself on the API's database (DATABASE_URL).
 */
async function developmentUserId(email: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO "User" (id, email, name, "updatedAt") VALUES ($1, $2, $3, now())
       ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id`,
      [randomUUID(), email, name],
    );
    return rows[0]!.id;
  } finally {
    await client.end();
  }
}

const developmentProvider = Credentials({
  id: 'development',
  name: 'Development',
  credentials: { email: { label: 'Email', type: 'email' }, name: { label: 'Name', type: 'text' } },
  async authorize(credentials) {
    const email = String(credentials?.email ?? '').trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) return null;
    const name = String(credentials?.name ?? '').trim() || email.split('@')[0]!;
    return { id: await developmentUserId(email, name), email, name };
  },
});

const devSignIn = (process.env.DEV_SIGN_IN === 'true' || process.env.NODE_ENV === 'development') && Boolean(process.env.DATABASE_URL);

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
