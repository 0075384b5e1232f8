import { MultiBar, Presets } from 'cli-progress';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SyncCheckpoint } from '../src/services/billing/index.js';
import { loadCommandConfig, runCommand, withServices } from './command.js';

// Usage: npm run db:sync-stripe [-- --backfill] [-- --restart]
// Pulls products and prices (with --backfill also customers and subscriptions) into the local mirror. Every write
// is an upsert, so it can run any number of times; an interrupted run resumes after the last page it finished.
runCommand(async (argv) => {
  const args = new Set(argv);
  const backfill = args.has('--backfill');
  const config = loadCommandConfig();
  if (!config.stripe.secretKey) {
    console.error('STRIPE_SECRET_KEY is not set; nothing to sync.');
    return 1;
  }
  const checkpointFile = join(config.database.dataDir, backfill ? 'sync-stripe-backfill.json' : 'sync-stripe.json');
  if (args.has('--restart')) await rm(checkpointFile, { force: true });
  const resumeFrom = (await readFile(checkpointFile, 'utf8').then(JSON.parse).catch(() => null)) as SyncCheckpoint | null;
  if (resumeFrom) console.log(`Resuming at ${resumeFrom.phase} after ${resumeFrom.startingAfter ?? 'the start'}`);

  const bars = new MultiBar({ format: ' {phase} |{bar}| {value} synced{more}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
  const phaseBars = new Map<string, ReturnType<MultiBar['create']>>();
  try {
    const counts = await withServices(async (services) => {
      await services.billing.catalog.ensureDefaultCatalog();
      return services.billing.syncFromStripe({
        backfill,
        resumeFrom,
        onPage: async ({ phase, done, hasMore, checkpoint }) => {
          let bar = phaseBars.get(phase);
          if (!bar) {
            bar = bars.create(1, 0, { phase: phase.padEnd(13), more: '' });
            phaseBars.set(phase, bar);
          }
          bar.setTotal(hasMore ? done + 100 : Math.max(done, 1));
          bar.update(done, { phase: phase.padEnd(13), more: hasMore ? ' …' : ' done' });
          await mkdir(dirname(checkpointFile), { recursive: true });
          await writeFile(checkpointFile, JSON.stringify(checkpoint));
        },
      });
    }, config);
    bars.stop();
    await rm(checkpointFile, { force: true });
    console.log(Object.entries(counts).map(([phase, count]) => `${phase}: ${count}`).join(', '));
    return 0;
  } catch (error) {
    bars.stop();
    console.error(`Sync stopped: ${error instanceof Error ? error.message : String(error)}. Run again to resume.`);
    return 1;
  }
});
