import { signIn } from '@/auth';
import { authJsEnabled, devSignInEnabled, devTokenSecret } from '@/lib/server-config';

export const dynamic = 'force-dynamic';

async function signInWithAuthJs(form: FormData) {
  'use server';
  await signIn('development', { email: form.get('email'), name: form.get('name'), redirectTo: '/' });
}

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const { error } = await searchParams;
  const devToken = Boolean(devTokenSecret());
  // The development provider of src/auth.ts needs the API's database to create the User row the API expects.
  const authJs = authJsEnabled() && devSignInEnabled() && Boolean(process.env.DATABASE_URL);
  return (
    <>
      <h1>Sign in</h1>
      {error && <p className="error">Enter a valid email address.</p>}
      {devToken && (
        <form className="panel" action="/api/dev-sign-in" method="post" aria-label="Development token">
          <h2>Development token</h2>
          <p className="muted">An HS256 token signed with the API&apos;s AUTH_JWT_SECRET, as `npm run token` makes.</p>
          <label>
            <span>Email</span>
            <input name="email" type="email" required autoComplete="email" />
          </label>
          <label>
            <span>Name</span>
            <input name="name" autoComplete="name" />
          </label>
          <button type="submit">Sign in with a development token</button>
        </form>
      )}
      {authJs && (
        <form className="panel" action={signInWithAuthJs} aria-label="Auth.js">
          <h2>Auth.js</h2>
          <p className="muted">An Auth.js session; its cookie is the token the API verifies with AUTHJS_SECRET.</p>
          <label>
            <span>Email</span>
            <input name="email" type="email" required />
          </label>
          <label>
            <span>Name</span>
            <input name="name" />
          </label>
          <button type="submit">Sign in with Auth.js</button>
        </form>
      )}
      {!devToken && !authJs && <p>Sign-in providers are configured in src/auth.ts.</p>}
    </>
  );
}
