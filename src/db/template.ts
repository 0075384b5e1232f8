import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { TemplateContents } from './embedded.js';
import { migrationsDir } from './prisma-files.js';

// Changes when `fill` below puts something else into the template, so that no older template is taken for it.
const FILL_VERSION = 'prisma migrations, then the pg-boss schema (no queues): 1';

/**
 * Names every file that decides what the migrations create: the lockfile and each folder's script, in the order
 * they are applied. Read synchronously: `npm start` needs it before the embedded database is copied.
 */
export function migrationsFingerprint(dir = migrationsDir): string {
  const hash = createHash('sha256');
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch {
      return '<missing>';
    }
  };
  hash.update(read(join(dir, 'migration_lock.toml')));
  let folders: string[] = [];
  try {
    folders = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort((a, b) => a.localeCompare(b));
  } catch {
    // No migrations folder: the key says so.
  }
  for (const folder of folders) {
    hash.update(`\n${folder}\n`);
    hash.update(read(join(dir, folder, 'migration.sql')));
  }
  return hash.digest('hex');
}

function jobQueueVersion(): string {
  try {
    return (createRequire(import.meta.url)('pg-boss/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * What a new embedded database holds before the service first touches it: every migration (recorded in
 * `_prisma_migrations` as the engine records them) and pg-boss's schema at the installed version. The key names the
 * migration files and pg-boss's version, so a template is used only by a checkout whose migrations are exactly those
 * it was filled with; after any change to them a new database is a copy of the pristine template, migrated at start.
 */
export function databaseTemplateContents(dir = migrationsDir): TemplateContents {
  return {
    key: JSON.stringify({ fill: FILL_VERSION, migrations: migrationsFingerprint(dir), pgBoss: jobQueueVersion() }),
    async fill(url) {
      const [{ applyMigrations }, { installJobQueueSchema }] = await Promise.all([
        import('./migrations.js'),
        import('../jobs/queue.js'),
      ]);
      await applyMigrations(url, { migrationsDir: dir });
      await installJobQueueSchema(url);
    },
  };
}
