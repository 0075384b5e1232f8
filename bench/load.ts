import autocannon from 'autocannon';
import { pacedLoad, percentile } from './paced.js';
import { scenarios, type BenchContext, type Tally } from './scenarios.js';

export interface LoadRequest {
  address: string;
  scenario: string;
  context: BenchContext;
  seconds: number;
  connections: number;
  /** Requests per second across all connections; unset means as fast as the server answers. */
  rate?: number;
}

export interface LoadResult {
  failures: number;
  tally: Tally;
  requests: { average: number; total: number; sent: number };
  latency: { p50: number; p99: number };
  /** CPU the load generator itself used, in ms: it shares the machine with the server and the database. */
  cpuMs: number;
}

const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

process.once('message', async (request: LoadRequest) => {
  const scenario = scenarios.find((candidate) => candidate.name === request.scenario);
  if (!scenario) throw new Error(`unknown scenario ${request.scenario}`);
  const tally: Tally = { wrong: 0, sample: '', moved: {} };
  const cpuBefore = cpuMs();
  if (request.rate) {
    const paced = await pacedLoad({
      address: request.address,
      requests: scenario.requests(request.context, tally) as Parameters<typeof pacedLoad>[0]['requests'],
      rate: request.rate,
      seconds: request.seconds,
      connections: request.connections,
    });
    const sorted = paced.latencies.sort((a, b) => a - b);
    const summary: LoadResult = {
      failures: paced.failures,
      tally,
      requests: { average: paced.completed / request.seconds, total: paced.completed, sent: paced.sent },
      latency: { p50: Math.round(percentile(sorted, 0.5) * 10) / 10, p99: Math.round(percentile(sorted, 0.99) * 10) / 10 },
      cpuMs: cpuMs() - cpuBefore,
    };
    process.send!(summary, () => process.exit(0));
    return;
  }
  const result = await autocannon({
    url: request.address,
    connections: request.connections,
    duration: request.seconds,
    requests: scenario.requests(request.context, tally),
  });
  const summary: LoadResult = {
    failures: result.errors + result.timeouts + result.non2xx,
    tally,
    requests: { average: result.requests.average, total: result.requests.total, sent: result.requests.sent },
    latency: { p50: result.latency.p50, p99: result.latency.p99 },
    cpuMs: cpuMs() - cpuBefore,
  };
  process.send!(summary, () => process.exit(0));
});
