import autocannon from 'autocannon';
import { scenarios, unexpectedAnswers, type BenchContext } from './scenarios.js';

export interface LoadRequest {
  address: string;
  scenario: string;
  context: BenchContext;
  seconds: number;
  connections: number;
}

export type LoadResult = Pick<autocannon.Result, 'errors' | 'timeouts' | 'non2xx'> & {
  unexpected: { count: number; sample: string };
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number };
};

process.once('message', async (request: LoadRequest) => {
  const scenario = scenarios.find((candidate) => candidate.name === request.scenario);
  if (!scenario) throw new Error(`unknown scenario ${request.scenario}`);
  const result = await autocannon({
    url: request.address,
    connections: request.connections,
    duration: request.seconds,
    requests: scenario.requests(request.context),
  });
  const summary: LoadResult = {
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    unexpected: unexpectedAnswers,
    requests: { average: result.requests.average, total: result.requests.total },
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 },
  };
  process.send!(summary, () => process.exit(0));
});
