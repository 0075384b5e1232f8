import { runCommand, withServices } from './command.js';

const usage = `Usage: npm run maintenance

Removes failed generations past GENERATION_FAILED_RETENTION_DAYS, purges the bytes of files deleted longer ago than
STORAGE_RETENTION_DAYS, and expires subscriptions that were set to cancel and whose period has ended. The job queue
runs the same daily. Uses DATABASE_URL, or the embedded PostgreSQL under DATA_DIR when it is not set.`;

runCommand(async (args) => {
  if (args.length > 0) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const report = await withServices((services) => services.maintenance.run());
  console.log(`Failed generations removed: ${report.failedGenerationsRemoved}`);
  console.log(`Deleted files purged:       ${report.storageObjectsPurged}`);
  console.log(`Subscriptions expired:      ${report.subscriptionsExpired}`);
});
