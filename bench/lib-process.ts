import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { BenchRow } from './types.js'

/** Helpers the benchmarks share: other processes' CPU, percentiles, free ports, stopping children. */

/** This checkout's kvtop: the build the benchmarks were compiled with. */
export const THIS_BIN = fileURLToPath(new URL('../../bin/kvtop.js', import.meta.url))

/** The kvtop a benchmark times: KVTOP_BENCH_BIN (another build's bin/kvtop.js, to compare before and after), else this checkout's. */
export const MEASURED_BIN = process.env.KVTOP_BENCH_BIN ?? THIS_BIN

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

/** The 1, 5 and 15-minute load averages now, as /proc/loadavg gives them. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
}

/** The machine a figure was measured on: cores and the load average now (other work shares it). */
export function machineNote(): string {
  return `machine: ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores, load average at the end ${loadAverage()} (other work shares the machine)`
}

/**
 * A row comparing CPU for `nodes` nodes: kvtop's and prometheus-redis-exporter's percentage of one
 * core, as node-`unit`s per CPU-second.
 */
export function exporterCpuRow(
  name: string,
  unit: string,
  nodes: number,
  cpuPercent: { kvtop: number; exporter: number },
  goal: string,
  met: boolean,
): BenchRow {
  const { kvtop, exporter } = cpuPercent
  return {
    case: name,
    kvtop: {
      seconds: kvtop / 100,
      rate: nodes / Math.max(1e-6, kvtop / 100),
      unit: `node-${unit} per CPU-second`,
    },
    anchor: {
      name: 'prometheus-redis-exporter',
      seconds: exporter / 100,
      rate: nodes / Math.max(1e-6, exporter / 100),
    },
    ratio: exporter / Math.max(1e-6, kvtop),
    goal,
    met,
  }
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

/**
 * prometheus-redis-exporter (the Debian package), the anchor of the monitor and export benchmarks,
 * started on a free port with no target of its own (each scrape names one: /scrape?target=...)
 * and waited for until healthy (10 s at most). The caller stops `child`.
 */
export async function startRedisExporter(): Promise<
  { child: ChildProcess; listen: number } | { error: string }
> {
  const bin = ['/usr/bin/prometheus-redis-exporter', '/usr/bin/redis_exporter'].find((p) => existsSync(p))
  if (!bin)
    return { error: 'prometheus-redis-exporter is not installed (apt-get install prometheus-redis-exporter)' }
  const listen = await freePort()
  const child = spawn(bin, ['-web.listen-address', `127.0.0.1:${listen}`, '-redis.addr', ''], {
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  const ready = Date.now() + 10_000
  while (Date.now() < ready) {
    try {
      if ((await fetch(`http://127.0.0.1:${listen}/health`)).ok) break
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  return { child, listen }
}
