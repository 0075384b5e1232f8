import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { selectOne } from './support/database.js';
import { root } from './support/processes.js';

// initdb's own words: present in the log when a start ran initdb.
const INITDB_OUTPUT = 'The files belonging to this database system will be owned by user';

function templates(cacheDir: string) {
  return readdirSync(cacheDir).filter((name) => name.startsWith('template-'));
}

describe('new embedded PostgreSQL data directories copied from a template cluster', () => {
  let work: string;
  let cacheDir: string;

  beforeEach(() => {
    mkdirSync(join(root, '.data'), { recursive: true });
    work = mkdtempSync(join(root, '.data', 'ops-template-'));
    cacheDir = join(work, 'cache');
  });

  afterEach(() => rmSync(work, { recursive: true, force: true }));

  async function start(name: string, logs: string[] = [], useTemplate = true) {
    return startEmbeddedPostgres({
      dir: join(work, name),
      persistent: false,
      templateCacheDir: cacheDir,
      useTemplate,
      onLog: (message) => logs.push(message),
    });
  }

  it('EMBEDDED_POSTGRES_TEMPLATE=false runs initdb for every new directory and makes no template', async () => {
    expect(loadConfig({ EMBEDDED_POSTGRES_TEMPLATE: 'false' }).database.embeddedTemplate).toBe(false);
    expect(loadConfig({}).database.embeddedTemplate).toBe(true);
    const logs: string[] = [];
    const database = await start('no-template', logs, false);
    try {
      expect(logs.join('')).toContain(INITDB_OUTPUT);
      expect(await selectOne(database.url)).toBe(1);
    } finally {
      await database.stop();
    }
    expect(existsSync(cacheDir)).toBe(false);
  }, 60_000);

  it('start without initdb once the template exists, and accept the password (and only it)', async () => {
    const firstLogs: string[] = [];
    const first = await start('first', firstLogs);
    try {
      expect(await selectOne(first.url)).toBe(1);
    } finally {
      await first.stop();
    }
    // The first start made the template (by initdb) and copied it.
    expect(firstLogs.join('')).toContain(INITDB_OUTPUT);
    expect(templates(cacheDir)).toHaveLength(1);

    const logs: string[] = [];
    const second = await start('second', logs);
    try {
      expect(logs.join('')).not.toContain(INITDB_OUTPUT);
      expect(logs.join('')).toContain('as a copy of the PostgreSQL template');
      expect(statSync(join(work, 'second')).mode & 0o777).toBe(0o700);
      expect(await selectOne(second.url)).toBe(1);
      await expect(selectOne(second.url.replace(':postgres@', ':wrong@'))).rejects.toThrow(/password authentication failed/);
    } finally {
      await second.stop();
    }
    // PostgreSQL never ran on the template itself.
    expect(existsSync(join(cacheDir, templates(cacheDir)[0], 'data', 'postmaster.pid'))).toBe(false);
  }, 60_000);

  it('let two starts race to make the template: both start, one template is kept', async () => {
    const [a, b] = await Promise.all([start('a'), start('b')]);
    try {
      expect(await selectOne(a.url)).toBe(1);
      expect(await selectOne(b.url)).toBe(1);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(templates(cacheDir)).toHaveLength(1);
    // No half-made template left behind by the loser of the race.
    expect(readdirSync(cacheDir).filter((name) => !name.startsWith('template-'))).toEqual([]);
  }, 60_000);

  it('ignore a template without its completion marker and make it again', async () => {
    const first = await start('first');
    await first.stop();
    const [template] = templates(cacheDir);
    // A half-written template: the marker is written last, so it is missing; a file marks what would be copied.
    unlinkSync(join(cacheDir, template, 'complete'));
    writeFileSync(join(cacheDir, template, 'data', 'from-the-broken-template'), 'x');

    const logs: string[] = [];
    const second = await start('second', logs);
    try {
      expect(await selectOne(second.url)).toBe(1);
      expect(logs.join('')).toContain('is incomplete');
      expect(logs.join('')).toContain(INITDB_OUTPUT);
      expect(existsSync(join(work, 'second', 'from-the-broken-template'))).toBe(false);
    } finally {
      await second.stop();
    }
    expect(existsSync(join(cacheDir, template, 'complete'))).toBe(true);
  }, 60_000);
});
