import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** Helpers the benchmarks share: other processes' CPU, percentiles, free ports, stopping children. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/**
 * CPU seconds a process has used so far, all its threads, from /proc/PID/task/TID/schedstat
 * (nanoseconds: precise even for a process as light as redis-cli --stat, which clock ticks miss).
 */
export function procCpuSeconds(pid: number): number {
  let ns = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // thread ended
    }
  }
  return ns / 1e9
}

/** utime + stime of a process (all its threads) from /proc/PID/stat, in seconds (clock ticks of 1/100 s). */
export function procStatCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

export function stop(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.pid) {
    try {
      child.kill('SIGTERM')
    } catch {
      // already gone
    }
  }
}
