/** CPU time of processes, from /proc (Linux): the benchmarks' measure of what a request or an event costs. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * CPU milliseconds the server has used: the postmaster, its live backends, and (through the postmaster's
 * children counters) every backend that has exited, such as pgbench's connections.
 */
export function postgresCpuMs(postmaster: number | null): number | null {
  if (postmaster === null) return null;
  const own = statFields(postmaster);
  if (!own) return null;
  // Fields after the command: state, ppid, ..., utime(11), stime(12), cutime(13), cstime(14).
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields && Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

export async function findPostmaster(client: pg.Client): Promise<number | null> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const fields = statFields(rows[0].pid);
  return fields ? Number(fields[1]) : null;
}

/** CPU milliseconds one process (not its children) has used, or null once it is gone. */
export function processCpuMs(pid: number | undefined): number | null {
  const fields = pid === undefined ? null : statFields(pid);
  return fields ? ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND : null;
}

/**
 * The machine's CPU ticks so far (/proc/stat): all of them, and those stolen, when the hypervisor ran another guest on
 * a core this machine wanted. Stolen time slows every process at once, so a run with much of it measured the host.
 */
export function machineTicks(): { total: number; stolen: number } | null {
  try {
    // cpu user nice system idle iowait irq softirq steal (guest time is already counted in user)
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: ticks.reduce((sum, value) => sum + value, 0), stolen: ticks[7] ?? 0 };
  } catch {
    return null;
  }
}

/** The share of the machine's CPU time stolen between two readings of {@link machineTicks}, in percent. */
export function stolenPercent(before: ReturnType<typeof machineTicks>, after: ReturnType<typeof machineTicks>): number | null {
  if (!before || !after || after.total <= before.total) return null;
  return Math.round((1000 * (after.stolen - before.stolen)) / (after.total - before.total)) / 10;
}
