import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services/index.js';

const usage = `Usage: npm run maintenance

Removes failed generations past GENERATION_FAILED_RETENTION_DAYS, purges the bytes of files deleted longer ago than
STORAGE_RETENTION_DAYS, and expires subscriptions that were set to cancel and whose period has ended. The job queue
runs the same daily. Uses DATABASE_URL, or the embedded PostgreSQL under DATA_DIR when it is not set.`;

async function main(args: string[]) {
  if (args.length > 0) {
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, log);
  const services = createServices({ prisma: database.prisma, config, log });
  try {
    const report = await services.maintenance.run();
    console.log(`Failed generations removed: ${report.failedGenerationsRemoved}`);
    console.log(`Deleted files purged:       ${report.storageObjectsPurged}`);
    console.log(`Subscriptions expired:      ${report.subscriptionsExpired}`);
  } finally {
    await services.close();
    await database.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
