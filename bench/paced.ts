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
 * Before the schedule starts, a few hundred requests are sent a few at a time, and the first `leadInSeconds` of the
 * schedule are not measured (as wrk2 leaves out its calibration period): the rate ramps up from zero over
 * `rampSeconds`, then holds. Started cold at full rate, a new generator process, compiling its own code and opening
 * its connections, fell behind its schedule by up to 0.9 s (also at a few hundred requests a second); the burst it then
 * sent took the server 3.5 s to work off at 70% of its peak, and that start alone made the p99 of the run.
 */
/** Sent a few at a time before the schedule starts, so the generator's own code is compiled when it begins. */
const WARM_UP_REQUESTS = 300;
const WARM_UP_CONCURRENCY = 5;

export function pacedLoad(options: {
  address: string;
  requests: Template[];
  rate: number;
  seconds: number;
  connections: number;
  leadInSeconds?: number;
  rampSeconds?: number;
}): Promise<PacedResult> {
  const { address, requests, rate, seconds, connections, leadInSeconds = 5, rampSeconds = 2 } = options;
  const target = new URL(address);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const rampMs = rampSeconds * 1000;
  const rampRequests = (rate * rampSeconds) / 2;
  // Set when the schedule starts, after the warm-up requests are answered.
  let start = 0;
  let measuredFrom = Infinity;
  let end = Infinity;
  // Request i is due when the cumulative schedule (rate x t^2 / 2 ramp, then rate x t) reaches i.
  const dueAt = (i: number) => start + (i < rampRequests ? Math.sqrt(((2 * rampMs * i) / rate) * 1000) : rampMs / 2 + (i / rate) * 1000);
  const result: PacedResult = { failures: 0, sent: 0, completed: 0, latencies: [] };
  let inFlight = 0;
  let scheduled = 0;

  return new Promise((resolve) => {
    let allSent = false;
    const finishIfDone = () => {
      if (inFlight === 0 && allSent) {
        agent.destroy();
        resolve(result);
      }
    };
    const fire = (template: Template, due: number, onClose?: () => void) => {
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
        onClose?.();
        finishIfDone();
      });
      outgoing.end(body);
    };
    const tick = () => {
      const now = performance.now();
      for (let due = dueAt(scheduled); due <= now && due < end; due = dueAt(scheduled)) {
        fire(requests[result.sent % requests.length], due);
        result.sent++;
        scheduled++;
      }
      const nextDue = dueAt(scheduled);
      if (nextDue < end) setTimeout(tick, Math.max(0, nextDue - performance.now()));
      else {
        // A timer may fire a fraction of a millisecond before the clock reads `end`: the schedule is what is finished.
        allSent = true;
        finishIfDone();
      }
    };
    let warmUpAnswered = 0;
    const warmUp = () => {
      if (result.sent >= WARM_UP_REQUESTS) {
        if (warmUpAnswered < WARM_UP_REQUESTS) return;
        start = performance.now();
        measuredFrom = start + leadInSeconds * 1000;
        end = measuredFrom + seconds * 1000;
        tick();
        return;
      }
      fire(requests[result.sent % requests.length], -Infinity, () => {
        warmUpAnswered++;
        warmUp();
      });
      result.sent++;
    };
    for (let i = 0; i < WARM_UP_CONCURRENCY; i++) warmUp();
  });
}

export function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)];
}
