import { parseArgs } from 'node:util';
import type { ApiKeyScope } from '../src/generated/prisma/client.js';
import { runCommand, withServices } from './command.js';

const SCOPES = ['spend', 'grant', 'read'];

const usage = `Usage:
  npm run -s apikey -- create --name <name> --scopes <spend,grant,read>
  npm run -s apikey -- list
  npm run -s apikey -- revoke <key id>

create  prints a new service API key on the last line of its output. It is shown once: only a hash is stored.
        Scopes: spend (deductCredits / reserveCredits / finalizeReservation for any user, at any amount),
        grant (grantCredits), read (any user through node(id)). The creation is written to the admin audit log.
list    prints every key: id, name, scopes, last use, revocation.
revoke  refuses the key from now on.
Uses DATABASE_URL, or the embedded PostgreSQL under DATA_DIR when it is not set.`;

function fail(message: string): number {
  process.stderr.write(`${message}\n\n${usage}\n`);
  return 2;
}

async function main(args: string[]) {
  const [command, ...rest] = args;
  if (command === 'create') {
    let values: { name?: string; scopes?: string };
    try {
      ({ values } = parseArgs({ args: rest, options: { name: { type: 'string' }, scopes: { type: 'string' } }, strict: true }));
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
    if (!values.name?.trim()) return fail('--name is required');
    const scopes = (values.scopes ?? '').split(',').map((scope) => scope.trim().toLowerCase()).filter(Boolean);
    if (scopes.length === 0 || scopes.some((scope) => !SCOPES.includes(scope))) {
      return fail(`--scopes must list one or more of ${SCOPES.join(', ')}, comma-separated`);
    }
    const { apiKey, secret } = await withServices((services) =>
      services.apiKeys.create(null, { name: values.name!, scopes: scopes.map((scope) => scope.toUpperCase() as ApiKeyScope) }),
    );
    console.log(`Created API key ${apiKey.id} "${apiKey.name}" with scopes ${apiKey.scopes.join(', ')}.`);
    console.log('Store it now; it is not shown again. Send it as  Authorization: Bearer <key>');
    console.log(secret);
    return 0;
  }
  if (command === 'list' && rest.length === 0) {
    const keys = await withServices((services) => services.apiKeys.list());
    if (keys.length === 0) console.log('No API keys.');
    for (const key of keys) {
      const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
      const used = key.lastUsedAt ? `last used ${key.lastUsedAt.toISOString()}` : 'never used';
      console.log(`${key.id}  ${key.name}  [${key.scopes.join(', ')}]  ${used}  ${state}`);
    }
    return 0;
  }
  if (command === 'revoke' && rest.length === 1) {
    const apiKey = await withServices((services) => services.apiKeys.revoke(null, rest[0]));
    console.log(`Revoked API key ${apiKey.id} "${apiKey.name}".`);
    return 0;
  }
  return fail(command ? `Unknown or incomplete command: ${args.join(' ')}` : 'A command is required');
}

runCommand(main);
