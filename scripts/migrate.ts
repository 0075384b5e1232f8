import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { EmbeddedDatabase } from '../src/db/embedded.js';
import { resolveDatabaseUrl } from '../src/db/index.js';
import { withConnectionSettings } from '../src/db/settings.js';
import { applyMigrations, createMigration, resetDatabase } from '../src/db/migrations.js';
import { createLogger } from '../src/logger.js';
import { cleanUpOnInterrupt, loadCommandConfig, runCommand } from './command.js';

const usage = `Usage:
  tsx scripts/migrate.ts deploy           apply pending migrations
  tsx scripts/migrate.ts create <name>    write a migration from prisma/schema.prisma
  tsx scripts/migrate.ts reset [--seed]   drop everything, migrate, and optionally seed`;

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

let database: Promise<{ url: string; embedded: EmbeddedDatabase | null }> | undefined;

/** DATABASE_URL, or else the embedded PostgreSQL under DATA_DIR that `npm start` uses; started once, on first use. */
async function databaseUrl(): Promise<string> {
  database ??= (async () => {
    const config = loadCommandConfig();
    const resolved = await resolveDatabaseUrl(config, createLogger(config.logLevel));
    const tls = !resolved.embedded;
    return { ...resolved, url: withConnectionSettings(resolved.url, config.database, { statementTimeout: false, tls }) };
  })();
  return (await database).url;
}

async function stopEmbeddedDatabase() {
  const started = await database?.catch(() => null);
  await started?.embedded?.stop();
}

async function deploy() {
  const { applied } = await applyMigrations(await databaseUrl());
  for (const name of applied) console.log(`Applied ${name}`);
  console.log(`${applied.length} migration(s) applied.`);
}

async function create(name: string | undefined) {
  if (!name) throw new Error('Missing migration name.\n' + usage);
  const { folder } = await createMigration(await databaseUrl(), name);
  console.log(folder ? `Created ${folder}` : 'No changes: the migrations already match prisma/schema.prisma');
}

async function reset(seed: boolean) {
  if (process.env.NODE_ENV === 'production') {
    throw new Error('Refusing to reset the database: NODE_ENV is "production".');
  }
  const url = await databaseUrl();
  const { applied } = await resetDatabase(url);
  console.log(`Database reset; ${applied.length} migration(s) applied.`);
  if (seed) runSeed(url);
}

function runSeed(databaseUrl: string) {
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const { status } = spawnSync(process.execPath, [tsxCli, 'prisma/seed.ts'], {
    cwd: projectRoot,
    stdio: 'inherit',
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  if (status !== 0) throw new Error(`Seeding failed (exit code ${status ?? 'none'}).`);
}

async function dispatch(command: string | undefined, rest: string[]) {
  switch (command) {
    case 'deploy':
      return deploy();
    case 'create':
      return create(rest[0]);
    case 'reset':
      return reset(rest.includes('--seed'));
    default:
      throw new Error(usage);
  }
}

runCommand(async ([command, ...rest]) => {
  const removeInterruptHandler = cleanUpOnInterrupt(stopEmbeddedDatabase);
  try {
    await dispatch(command, rest);
  } finally {
    removeInterruptHandler();
    await stopEmbeddedDatabase();
  }
});
