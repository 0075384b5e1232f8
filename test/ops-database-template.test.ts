import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { prepareEmbeddedPostgresTemplate, startEmbeddedPostgres, type EmbeddedDatabase, type TemplateContents } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrations.js';
import { databaseTemplateContents, migrationsFingerprint } from '../src/db/template.js';
import { withClient } from './support/database.js';
import { root } from './support/processes.js';

const migrationsDir = join(root, 'prisma', 'migrations');
const migrationNames = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

const tableExists = (url: string, name: string) =>
  withClient(url, async (client) => (await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [name])).rows[0].found);

const recordedMigrations = (url: string) =>
  withClient(url, async (client) =>
    (await client.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations ORDER BY migration_name')).rows.map(
      (row) => row.migration_name,
    ),
  );

describe('new embedded databases copied from a template filled with the schema', () => {
  let work: string;
  let cacheDir: string;
  const running: EmbeddedDatabase[] = [];

  beforeEach(() => {
    mkdirSync(join(root, '.data'), { recursive: true });
    work = mkdtempSync(join(root, '.data', 'ops-filled-template-'));
    cacheDir = join(work, 'cache');
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((database) => database.stop()));
    rmSync(work, { recursive: true, force: true });
  });

  async function start(name: string, templateContents: TemplateContents, logs: string[] = []) {
    const database = await startEmbeddedPostgres({
      dir: join(work, name),
      persistent: false,
      templateCacheDir: cacheDir,
      templateContents,
      onLog: (message) => logs.push(message),
    });
    running.push(database);
    return database;
  }

  /** The migrations folder as it was before its newest migration was added. */
  function migrationsWithoutNewest() {
    const dir = join(work, 'older-migrations');
    cpSync(migrationsDir, dir, { recursive: true });
    rmSync(join(dir, migrationNames.at(-1)!), { recursive: true });
    return dir;
  }

  it('holds every migration and the job queue schema, so the start has no migration left to apply', async () => {
    await prepareEmbeddedPostgresTemplate(() => {}, { contents: databaseTemplateContents(), cacheDir });
    const logs: string[] = [];
    const database = await start('filled', databaseTemplateContents(), logs);

    expect(logs.join('')).toContain('(with its contents)');
    expect(await recordedMigrations(database.url)).toEqual(migrationNames);
    expect(await tableExists(database.url, 'pgboss.version')).toBe(true);
    // Nothing for the migration engine to do, and it is not even started (it logs as soon as it runs).
    const migrationLog: string[] = [];
    expect(await applyMigrations(database.url, { log: (message) => migrationLog.push(message) })).toEqual({ applied: [] });
    expect(migrationLog).toEqual([]);
  });

  it('a new database takes the spare copy made ahead, and the next one finds a new spare', async () => {
    await prepareEmbeddedPostgresTemplate(() => {}, { contents: databaseTemplateContents(), cacheDir });
    const spares = () => readdirSync(cacheDir).filter((name) => name.startsWith('spare-'));
    expect(spares()).toHaveLength(1);

    const firstLogs: string[] = [];
    const first = await start('first', databaseTemplateContents(), firstLogs);
    expect(firstLogs.join('')).toContain('from a ready copy of the PostgreSQL template');
    await withClient(first.url, (client) => client.query('CREATE TABLE only_in_first (id int)'));
    // Stopping waits for the spare copy made in the background.
    await first.stop();
    expect(spares()).toHaveLength(1);
    expect(readdirSync(cacheDir).filter((name) => name.includes('.copy-'))).toEqual([]);

    const secondLogs: string[] = [];
    const second = await start('second', databaseTemplateContents(), secondLogs);
    expect(secondLogs.join('')).toContain('from a ready copy of the PostgreSQL template');
    expect(await tableExists(second.url, 'only_in_first')).toBe(false);
    expect(await recordedMigrations(second.url)).toEqual(migrationNames);

    // A start that found no spare (one killed before its spare was done) copies the template, and leaves a spare.
    await second.stop();
    rmSync(join(cacheDir, spares()[0]), { recursive: true });
    const thirdLogs: string[] = [];
    const third = await start('third', databaseTemplateContents(), thirdLogs);
    expect(thirdLogs.join('')).toContain('as a copy of the PostgreSQL template');
    expect(await recordedMigrations(third.url)).toEqual(migrationNames);
    await third.stop();
    expect(spares()).toHaveLength(1);
  });

  it('is not used once a migration was added after it was made: the start applies every migration', async () => {
    await prepareEmbeddedPostgresTemplate(() => {}, { contents: databaseTemplateContents(migrationsWithoutNewest()), cacheDir });
    const logs: string[] = [];
    const database = await start('after-new-migration', databaseTemplateContents(), logs);

    expect(logs.join('')).not.toContain('(with its contents)');
    expect(await tableExists(database.url, '_prisma_migrations')).toBe(false);
    expect((await applyMigrations(database.url)).applied).toEqual(migrationNames);
    expect(await recordedMigrations(database.url)).toEqual(migrationNames);
    // The next install fills a template for the new migrations and removes the outdated one with its spare.
    const filledTemplates = () => readdirSync(cacheDir).filter((name) => /^(template|spare)-\w+-\w+$/.test(name));
    expect(filledTemplates()).toHaveLength(2);
    const current = await prepareEmbeddedPostgresTemplate(() => {}, { contents: databaseTemplateContents(), cacheDir });
    expect(filledTemplates().sort()).toEqual([basename(current!).replace(/^template-/, 'spare-'), basename(current!)]);
  });

  it('a database that lacks the newest migration gets it applied, not taken as migrated', async () => {
    const older = databaseTemplateContents(migrationsWithoutNewest());
    await prepareEmbeddedPostgresTemplate(() => {}, { contents: older, cacheDir });
    const database = await start('older', older);

    expect(await recordedMigrations(database.url)).toEqual(migrationNames.slice(0, -1));
    expect(await applyMigrations(database.url)).toEqual({ applied: [migrationNames.at(-1)] });
    expect(await recordedMigrations(database.url)).toEqual(migrationNames);
  });

  it('names the migration files: an added migration or an edited script changes the key', () => {
    const dir = join(work, 'migrations');
    cpSync(migrationsDir, dir, { recursive: true });
    const original = migrationsFingerprint(dir);
    expect(migrationsFingerprint(dir)).toBe(original);

    writeFileSync(join(dir, migrationNames[0], 'migration.sql'), '-- edited\n', { flag: 'a' });
    const edited = migrationsFingerprint(dir);
    expect(edited).not.toBe(original);

    mkdirSync(join(dir, '29991231000000_later'));
    writeFileSync(join(dir, '29991231000000_later', 'migration.sql'), 'CREATE TABLE later (id int);\n');
    expect(migrationsFingerprint(dir)).not.toBe(edited);
    expect(databaseTemplateContents(dir).key).not.toBe(databaseTemplateContents(migrationsDir).key);
  });

  it('a failing fill publishes no template, and starts still get the pristine one', async () => {
    const failing: TemplateContents = {
      key: 'failing',
      async fill() {
        throw new Error('fill failed');
      },
    };
    await expect(prepareEmbeddedPostgresTemplate(() => {}, { contents: failing, cacheDir })).rejects.toThrow('fill failed');
    expect(readdirSync(cacheDir).filter((name) => !name.startsWith('template-'))).toEqual([]);
    const logs: string[] = [];
    const database = await start('after-failed-fill', failing, logs);
    expect(logs.join('')).toContain('as a copy of the PostgreSQL template');
    expect(logs.join('')).not.toContain('(with its contents)');
    expect(await tableExists(database.url, '_prisma_migrations')).toBe(false);
  });
});
