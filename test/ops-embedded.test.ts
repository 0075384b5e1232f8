import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { selectOne } from './support/database.js';
import { freePort, root } from './support/processes.js';

describe('the embedded PostgreSQL', () => {
  it('starts on another port when its port is taken between the check and the bind', async () => {
    // Another PostgreSQL holding the Unix socket of the same port number: the TCP check sees the port free, the
    // server then fails to take it. That is the window two processes starting at once race through.
    const port = await freePort();
    const lockFile = `/tmp/.s.PGSQL.${port}.lock`;
    const asPostgres = process.getuid?.() === 0
      ? { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) }
      : {};
    const holder = spawn('sleep', ['60'], { ...asPostgres, stdio: 'ignore' });
    writeFileSync(lockFile, `${holder.pid}\n/tmp\n`);
    const logs: string[] = [];
    mkdirSync(join(root, '.data'), { recursive: true });
    const dir = mkdtempSync(join(root, '.data', 'ops-race-'));
    try {
      const database = await startEmbeddedPostgres({
        dir: join(dir, 'postgres'),
        port,
        persistent: false,
        onLog: (message) => logs.push(message),
      });
      try {
        expect(database.port).not.toBe(port);
        expect(await selectOne(database.url)).toBe(1);
        expect(logs.join('')).toContain(`port ${port} was taken before PostgreSQL could bind it; trying another`);
      } finally {
        await database.stop();
      }
    } finally {
      holder.kill();
      rmSync(lockFile, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('runs from a data directory inside a private (0700) folder', async () => {
    mkdirSync(join(root, '.data'), { recursive: true });
    const privateDir = mkdtempSync(join(root, '.data', 'ops-private-'));
    chmodSync(privateDir, 0o700);
    try {
      const database = await startEmbeddedPostgres({ dir: join(privateDir, 'nested', 'postgres'), persistent: true });
      try {
        expect(await selectOne(database.url)).toBe(1);
      } finally {
        await database.stop();
      }
      // As root PostgreSQL runs as its own user, which needs to pass through (not list) the private folder.
      if (process.getuid?.() === 0) expect(statSync(privateDir).mode & 0o777).toBe(0o701);
    } finally {
      rmSync(privateDir, { recursive: true, force: true });
    }
  }, 30_000);
});
