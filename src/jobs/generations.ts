import { RUN_GENERATION_JOB } from '../services/generations.js';
import type { Services } from '../services/index.js';
import type { JobDefinition } from './queue.js';

export function generationJobs(services: Services): JobDefinition<any>[] {
  const run: JobDefinition<{ generationId: string }> = {
    name: RUN_GENERATION_JOB,
    // run() records provider failures itself; a retry only helps when the process died before it claimed the row.
    handler: ({ generationId }) => services.generations.run(generationId),
    retryLimit: 2,
    retryDelaySeconds: 5,
    expireInSeconds: services.generations.jobTimeoutSeconds,
    workers: 2,
  };
  return [
    run,
    { name: 'generations.fail-stalled', cron: '* * * * *', handler: () => services.generations.failStalled() },
  ];
}
