import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The project's prisma/ folder: two levels up from src/db/ and dist/db/, one more from the build `npm start` runs.
function findPrismaDir(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'prisma', 'schema.prisma'))) return join(dir, 'prisma');
  }
  return join(from, '..', '..', 'prisma');
}

export const prismaDir = findPrismaDir(dirname(fileURLToPath(import.meta.url)));
export const migrationsDir = join(prismaDir, 'migrations');
