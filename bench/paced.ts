import type http from 'node:http';
import net from 'node:net';
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

interface Exchange {
  bytes: Buffer;
  done: (status: number, body: string) => void;
  failed: () => void;
}

/**
 * HTTP/1.1 over kept-alive sockets, one request at a time on each, at most `limit` sockets: the least a client can
 * do per request, so the generator takes as little as it can of the CPU the server shares with it (node:http's
 * client cost ~0.26 ms per request here, three times the server's own share of a viewer read).
 */
function keepAliveClient(target: URL, limit: number, timeoutMs: number) {
  type Send = (exchange: Exchange) => void;
  const idle: Send[] = [];
  const waiting: Exchange[] = [];
  const sockets = new Set<net.Socket>();

  const open = (first: Exchange) => {
    const socket = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    sockets.add(socket);
    let current: Exchange | null = null;
    let received: Buffer = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const send: Send = (exchange) => {
      current = exchange;
      timer = setTimeout(() => socket.destroy(new Error('timed out')), timeoutMs);
      socket.write(exchange.bytes);
    };
    socket.on('data', (chunk: Buffer) => {
      received = received.length ? Buffer.concat([received, chunk]) : chunk;
      const headerEnd = received.indexOf('\r\n\r\n');
      if (headerEnd < 0 || !current) return;
      const head = received.subarray(0, headerEnd).toString('latin1');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!length) return void socket.destroy(new Error('a response without content-length'));
      const end = headerEnd + 4 + Number(length[1]);
      if (received.length < end) return;
      const body = received.subarray(headerEnd + 4, end).toString('utf8');
      clearTimeout(timer);
      const answered = current;
      current = null;
      received = Buffer.alloc(0);
      const next = waiting.shift();
      if (next) send(next);
      else idle.push(send);
      answered.done(Number(head.slice(9, 12)), body);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      sockets.delete(socket);
      const at = idle.indexOf(send);
      if (at >= 0) idle.splice(at, 1);
      const lost = current;
      current = null;
      lost?.failed();
      const next = waiting.shift();
      if (next) open(next);
    });
    send(first);
  };

  return {
    request(exchange: Exchange) {
      const send = idle.pop();
      if (send) send(exchange);
      else if (sockets.size < limit) open(exchange);
      else waiting.push(exchange);
    },
    close() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

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
  const client = keepAliveClient(target, connections, 10_000);
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
        client.close();
        resolve(result);
      }
    };
    const fire = (template: Template, due: number, onClose?: () => void) => {
      const request = template.setupRequest ? template.setupRequest({ ...template }, {}) : template;
      const body = Buffer.from(String(request.body ?? ''));
      const headers = Object.entries({ ...request.headers, host: target.host, 'content-length': body.length })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      inFlight++;
      const settle = () => {
        inFlight--;
        onClose?.();
        finishIfDone();
      };
      client.request({
        bytes: Buffer.concat([Buffer.from(`${request.method ?? 'GET'} ${request.path ?? '/'} HTTP/1.1\r\n${headers}\r\n`), body]),
        done: (status, text) => {
          if (due >= measuredFrom) {
            result.completed++;
            result.latencies.push(performance.now() - due);
          }
          if (status < 200 || status >= 300) result.failures++;
          template.onResponse?.(status, text, {});
          settle();
        },
        failed: () => {
          result.failures++;
          settle();
        },
      });
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
