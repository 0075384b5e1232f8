import { defineConfig } from 'prisma/config';

// The CLI only needs a URL for commands that talk to a database; generation works without one.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations', seed: 'tsx prisma/seed.ts' },
  datasource: { url: process.env.DATABASE_URL || 'postgresql://localhost:5432/unused' },
});
