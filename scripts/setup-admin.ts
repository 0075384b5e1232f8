import { encodeGlobalID } from '@pothos/plugin-relay';
import { runCommand, withServices } from './command.js';

const usage = `Usage: npm run db:setup-admin -- <email>

Makes the user with this email an ADMIN, creating them if they do not exist yet; they keep the role when they first
sign in with that email, once their identity provider marks it verified (email_verified). Uses DATABASE_URL, or the embedded PostgreSQL under DATA_DIR when it is not set.`;

async function main(args: string[]) {
  const email = args[0]?.trim();
  if (args.length !== 1 || !email || !/^[^\s@]+@[^\s@]+$/.test(email)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const { user, created } = await withServices((services) => services.users.promoteToAdmin(email));
  // The global id, as the API returns it and as every argument naming a user takes it.
  const id = encodeGlobalID('User', user.id);
  console.log(
    created
      ? `Created ${user.email} as ADMIN (id ${id}); they keep the role when they first sign in with this email, verified by their identity provider.`
      : `${user.email} (id ${id}) is now ADMIN.`,
  );
}

runCommand(main);
