import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { signToken } from '../src/services/auth.js';

const usage = `Usage: npm run token -- --sub <subject> [--email <email>] [--name <name>] [--expires <duration>] [--unverified-email]

Prints an HS256 JWT signed with AUTH_JWT_SECRET (the development default when unset), for the Authorization header
(refused when the server checks tokens against AUTH_JWKS_URL, which accepts no HS256 token):
  Authorization: Bearer <token>

  --sub       the identity provider's user id (required), e.g. alice
  --email     email claim, e.g. alice@example.com
  --name      name claim, e.g. Alice
  --expires   lifetime such as 30m, 1h, 7d (default 1h)
  --unverified-email
              sets email_verified: false (by default the email counts as verified, as a provider would say
              after a confirmation link)`;

// The units jose's setExpirationTime accepts.
const DURATION = /^\d+(\.\d+)? ?(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|y|yrs?|years?)$/i;

function readArgs() {
  try {
    const { values } = parseArgs({
      options: {
        sub: { type: 'string' },
        email: { type: 'string' },
        name: { type: 'string' },
        expires: { type: 'string', default: '1h' },
        'unverified-email': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) return null;
    if (!values.sub) throw new Error('--sub is required');
    if (!DURATION.test(values.expires)) throw new Error(`--expires: "${values.expires}" is not a duration`);
    return { ...values, sub: values.sub };
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}\n`);
    process.exit(2);
  }
}

async function main() {
  const args = readArgs();
  if (!args) {
    console.log(usage);
    return;
  }
  const { auth } = loadConfig();
  if (auth.jwksUrl || !auth.jwtSecret) {
    const why = auth.jwksUrl
      ? `this server checks tokens only against the identity provider's keys at AUTH_JWKS_URL (${auth.jwksUrl}), so it would refuse an HS256 token`
      : 'AUTH_JWT_SECRET is not set, so this server accepts no HS256 token';
    throw new Error(
      `Refusing to sign a token: ${why}. Sign in through the identity provider to get a token, ` +
        'or, for local development, unset AUTH_JWKS_URL and set AUTH_JWT_SECRET (at least 32 characters) on the server and here.',
    );
  }
  const token = await signToken(
    auth.jwtSecret,
    { sub: args.sub, email: args.email, name: args.name, emailVerified: !args['unverified-email'] },
    { expiresIn: args.expires, issuer: auth.issuer, audience: auth.audience },
  );
  console.log(token);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
