import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type autocannon from 'autocannon';

type Template = autocannon.Request & {
  setupRequest?: (request: autocannon.Request, context: object) => autocannon.Request;
  onResponse?: (status: number, body: string, context: object, headers?: http.IncomingHttpHeaders) => void;
};

export interface PacedResult {
  failures: number;
  /** Every request sent, the lead-in's included. */
  sent: number;
  /** Requests due in the measured window and answered; their latencies follow. */
  completed: number;
  latencies: number[];
}

/**
 * An open-loop load: request i is due at start + i / rate, whatever happened to the ones before it, and its latency
 * runs from when it was due, so time spent queued behind a slow answer counts. autocannon's own pacing sends each
 * connection's share of a second back to back at the start of that second, which measures a burst at full speed
 * followed by idleness, not a steady share of the peak.
 *
 * The first `leadInSeconds` run at the same rate but are not measured: a new generator process opens its connections
 * and compiles its own code then, and its first few hundred milliseconds fell behind the schedule by up to half a
 * second on this machine, which alone made the p99 of an 8-second run (as wrk2 leaves out its calibration period).
 */
export function pacedLoad(options: {
  address: string;
  requests: Template[];
  rate: number;
  seconds: number;
  connections: number;
  leadInSeconds?: number;
}): Promise<PacedResult> {
  const { address, requests, rate, seconds, connections, leadInSeconds = 2 } = options;
  const target = new URL(address);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const interval = 1000 / rate;
  const start = performance.now();
  const measuredFrom = start + leadInSeconds * 1000;
  const end = measuredFrom + seconds * 1000;
  const result: PacedResult = { failures: 0, sent: 0, completed: 0, latencies: [] };
  let inFlight = 0;

  return new Promise((resolve) => {
    let allSent = false;
    const finishIfDone = () => {
      if (inFlight === 0 && allSent) {
        agent.destroy();
        resolve(result);
      }
    };
    const fire = (template: Template, due: number) => {
      const request = template.setupRequest ? template.setupRequest({ ...template }, {}) : template;
      const body = String(request.body ?? '');
      inFlight++;
      let answered = false;
      const outgoing = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: request.method ?? 'GET',
          path: request.path ?? '/',
          headers: { ...request.headers, 'content-length': Buffer.byteLength(body) },
          timeout: 10_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            answered = true;
            if (due >= measuredFrom) {
              result.completed++;
              result.latencies.push(performance.now() - due);
            }
            const status = response.statusCode ?? 0;
            if (status < 200 || status >= 300) result.failures++;
            template.onResponse?.(status, Buffer.concat(chunks).toString('utf8'), {}, response.headers);
          });
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
      outgoing.on('error', () => undefined);
      // 'close' comes last whatever happened (answer, error, reset), so every request is counted out exactly once.
      outgoing.on('close', () => {
        inFlight--;
        if (!answered) result.failures++;
        finishIfDone();
      });
      outgoing.end(body);
    };
    const tick = () => {
      const now = performance.now();
      for (let due = start + result.sent * interval; due <= now && due < end; due = start + result.sent * interval) {
        fire(requests[result.sent % requests.length], due);
        result.sent++;
      }
      const nextDue = start + result.sent * interval;
      if (nextDue < end) setTimeout(tick, Math.max(0, nextDue - performance.now()));
      else {
        // A timer may fire a fraction of a millisecond before the clock reads `end`: the schedule is what is finished.
        allSent = true;
        finishIfDone();
      }
    };
    tick();
  });
}

export function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)];
}
