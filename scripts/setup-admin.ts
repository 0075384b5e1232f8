import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { createLogger } from '../src/logger.js';
import { createServices } from '../src/services/index.js';

const usage = `Usage: npm run db:setup-admin -- <email>

Makes the user with this email an ADMIN, creating them if they do not exist yet; they keep the role when they first
sign in with that email. Uses DATABASE_URL, or the embedded PostgreSQL under DATA_DIR when it is not set.`;

async function main(args: string[]) {
  const email = args[0]?.trim();
  if (args.length !== 1 || !email || !/^[^\s@]+@[^\s@]+$/.test(email)) {
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
  // A command-line tool prints its own result; the server's info logs would only bury it.
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, log);
  const services = createServices({ prisma: database.prisma, config, log });
  try {
    const { user, created } = await services.users.promoteToAdmin(email);
    console.log(
      created
        ? `Created ${user.email} as ADMIN (id ${user.id}); they keep the role when they first sign in with this email.`
        : `${user.email} (id ${user.id}) is now ADMIN.`,
    );
  } finally {
    await services.close();
    await database.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
