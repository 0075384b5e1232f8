import { resolve } from 'node:path';
import pg from 'pg';
import { backup, restore } from '../src/db/backup.js';
import { resolveDatabaseUrl } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import { cleanUpOnInterrupt, loadCommandConfig, runCommand } from './command.js';

const usage = `Usage:
  npm run db:backup -- <file.jsonl.gz>    writes every table of the service's schema to the file
  npm run db:restore -- <file.jsonl.gz>   replaces the data of every table with the file's, in one transaction

For the embedded PostgreSQL under DATA_DIR (a running npm start's, or started for the command), or DATABASE_URL's.
A server of your own is better backed up with pg_dump / pg_restore (see the README). The job queue's own schema is not
included: its jobs are recreated by the schedules. Files under DATA_DIR/storage are backed up separately.`;

runCommand(async ([command, fileArgument, ...rest]) => {
  if ((command !== 'backup' && command !== 'restore') || !fileArgument || rest.length) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const file = resolve(fileArgument);
  const config = loadCommandConfig();
  const { url, embedded } = await resolveDatabaseUrl(config, createLogger(config.logLevel));
  const removeInterruptHandler = cleanUpOnInterrupt(async () => embedded?.stop());
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    if (command === 'backup') {
      const written = await backup(client, file);
      console.log(`Backed up ${written.rows} rows of ${written.tables} tables to ${file}`);
    } else {
      const restored = await restore(client, file);
      console.log(`Restored ${restored.rows} rows from ${file} (made ${restored.createdAt})`);
    }
  } finally {
    removeInterruptHandler();
    await client.end().catch(() => undefined);
    await embedded?.stop();
  }
});
