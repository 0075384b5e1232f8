import type { Services } from '../services/index.js';
import type { JobDefinition } from './queue.js';

/** Rendering is done by the generation workers (src/jobs/workers.ts); the queue only runs the stall sweep. */
export function generationJobs(services: Services): JobDefinition<any>[] {
  return [{ name: 'generations.fail-stalled', cron: '* * * * *', handler: () => services.generations.failStalled() }];
}
