import { loadConfig } from '../src/config.js';
import { createPrismaClient } from '../src/db/client.js';
import { resolveDatabaseUrl } from '../src/db/index.js';
import { applyMigrations } from '../src/db/migrations.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services/index.js';

// Checks, for every user, that the ledger sums to the balance and the grants sum to grantedRemaining.
const config = loadConfig();
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
const { url, embedded } = await resolveDatabaseUrl(config, log);
await applyMigrations(url);
const prisma = createPrismaClient(url);
let exitCode = 0;
try {
  const services = createServices({ prisma, config, log });
  const users = await prisma.creditBalance.count();
  const mismatches = await services.credits.reconcile();
  for (const row of mismatches) {
    console.log(
      `MISMATCH user ${row.userId} (${row.email ?? 'no email'}): balance ${row.balance}, ledger sums to ${row.ledgerSum}; ` +
        `grantedRemaining ${row.grantedRemaining}, grants sum to ${row.grantsSum}`,
    );
  }
  console.log(`${users} balances checked, ${mismatches.length} mismatched`);
  exitCode = mismatches.length ? 1 : 0;
  await services.close();
} finally {
  await prisma.$disconnect();
  await embedded?.stop();
}
process.exit(exitCode);
