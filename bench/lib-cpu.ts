import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Who is the limit of a run: the CPU seconds kvtop and the servers spent, beside the wall time.
 * A kvtop that is busy most of the wall time is the bottleneck; one mostly idle waits on the servers.
 */
export interface CpuBreakdown {
  wallSeconds: number
  /** user + sys of the kvtop process (or of the bench process, for in-process runs). */
  kvtopCpuSeconds: number
  /**
   * Time kvtop's main thread was runnable but waiting for a core (/proc schedstat): on a loaded
   * machine this, not the servers, is often what the rest of the wall time is.
   */
  kvtopRunQueueSeconds: number
  /** user + sys of each redis-server, in the order given. */
  serverCpuSeconds: number[]
}

/** Linux clock ticks per second for /proc/PID/stat (USER_HZ, 100 on every mainstream kernel). */
const CLOCK_TICKS = 100

/** user + sys CPU seconds of a live process, from /proc (0 when it is gone or not on Linux). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return 0
  }
}

/** Seconds this process's main thread has waited on a run queue (0 where /proc has no schedstat). */
export function runQueueSeconds(pid: number | 'self' = 'self'): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[1]) / 1e9
  } catch {
    return 0
  }
}

/** CPU the given server processes spend from now until `stop()`. */
export function serverCpuMeter(pids: (number | undefined)[]): { stop: () => number[] } {
  const before = pids.map((p) => (p ? processCpuSeconds(p) : 0))
  return { stop: () => pids.map((p, i) => (p ? processCpuSeconds(p) - before[i] : 0)) }
}

/** In-process work (bench calls a service directly): this process's CPU vs wall, and the servers'. */
export async function measureInProcess<T>(
  serverPids: (number | undefined)[],
  work: () => Promise<T>,
): Promise<{ result: T; cpu: CpuBreakdown }> {
  const servers = serverCpuMeter(serverPids)
  const cpu0 = process.cpuUsage()
  const queued0 = runQueueSeconds()
  const t0 = performance.now()
  const result = await work()
  const wallSeconds = (performance.now() - t0) / 1000
  const used = process.cpuUsage(cpu0)
  return {
    result,
    cpu: {
      wallSeconds,
      kvtopCpuSeconds: (used.user + used.system) / 1e6,
      kvtopRunQueueSeconds: runQueueSeconds() - queued0,
      serverCpuSeconds: servers.stop(),
    },
  }
}

const REPORTER = fileURLToPath(new URL('./lib-cpu-reporter.js', import.meta.url))

/**
 * Run a node script as a whole process (spawn to exit), with its own CPU use written at exit by a
 * preloaded reporter, the servers' CPU over the same span, and the peak RSS sampled from /proc.
 */
export function runNodeMeasured(
  script: string,
  args: string[],
  serverPids: (number | undefined)[],
  nodeFlags: string[] = [],
): Promise<{ seconds: number; stdout: string; peakRssBytes: number; cpu: CpuBreakdown }> {
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-bench-cpu-'))
  const out = join(dir, 'cpu.json')
  return new Promise((resolve, reject) => {
    const servers = serverCpuMeter(serverPids)
    const started = performance.now()
    const child = spawn(process.execPath, [...nodeFlags, '--import', REPORTER, script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KVTOP_BENCH_CPU_OUT: out },
    })
    let stdout = ''
    let stderr = ''
    let peak = 0
    const timer = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (m) peak = Math.max(peak, Number(m[1]) * 1024)
      } catch {
        // exited
      }
    }, 50)
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.once('error', reject)
    child.once('close', (code) => {
      clearInterval(timer)
      const seconds = (performance.now() - started) / 1000
      const serverCpuSeconds = servers.stop()
      let kvtopCpuSeconds = NaN
      let kvtopRunQueueSeconds = NaN
      try {
        const reported = JSON.parse(readFileSync(out, 'utf8')) as {
          cpuSeconds: number
          runQueueSeconds: number
        }
        kvtopCpuSeconds = reported.cpuSeconds
        kvtopRunQueueSeconds = reported.runQueueSeconds
      } catch {
        // no report: the process died before its exit handler
      }
      rmSync(dir, { recursive: true, force: true })
      if (code !== 0)
        return reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${stderr || stdout}`))
      resolve({
        seconds,
        stdout,
        peakRssBytes: peak,
        cpu: { wallSeconds: seconds, kvtopCpuSeconds, kvtopRunQueueSeconds, serverCpuSeconds },
      })
    })
  })
}

const pct = (x: number) => `${Math.round(100 * x)}%`

/**
 * One line for a bench note: kvtop's CPU, its wait for a core, and the rest of the wall time (idle:
 * waiting on the servers), each server's busy share, and which side is the limit.
 */
export function describeCpu(label: string, cpu: CpuBreakdown): string {
  const wall = cpu.wallSeconds
  const busy = cpu.kvtopCpuSeconds / wall
  const queued = cpu.kvtopRunQueueSeconds / wall
  const idle = Math.max(0, 1 - busy - queued)
  const servers = cpu.serverCpuSeconds.map((s) => s / wall)
  const busiestServer = Math.max(0, ...servers)
  const limit =
    busy >= 0.85
      ? 'kvtop (CPU-bound)'
      : busiestServer >= 0.85
        ? 'a server (CPU-bound)'
        : busy + queued >= 0.85
          ? 'kvtop (CPU-bound, sharing the cores)'
          : 'round trips to the servers (kvtop idle)'
  return `${label}: wall ${wall.toFixed(2)} s; kvtop CPU ${cpu.kvtopCpuSeconds.toFixed(2)} s (${pct(busy)}), waiting for a core ${cpu.kvtopRunQueueSeconds.toFixed(2)} s (${pct(queued)}), idle ${pct(idle)}; servers CPU ${cpu.serverCpuSeconds.map((s, i) => `${s.toFixed(2)} s (${pct(servers[i])})`).join(', ')}; limit: ${limit}`
}

/**
 * Whether a goal is within reach on this machine, from one run's CPU: even a kvtop that cost
 * nothing cannot finish before the busiest server has done its work, nor before all the servers'
 * work, shared over the cores; with kvtop's own CPU added, the same bounds give the least wall time
 * that run's CPU allows. `budgetSeconds` is the longest run the goal allows (the anchor's time over
 * the goal's ratio). A missed goal then says whether a faster kvtop could meet it here at all.
 */
export function reachNote(label: string, cpu: CpuBreakdown, budgetSeconds: number, cores: number): string {
  const servers = cpu.serverCpuSeconds.reduce((a, b) => a + b, 0)
  const busiest = Math.max(0, ...cpu.serverCpuSeconds)
  const serversFloor = Math.max(busiest, servers / cores)
  const runFloor = Math.max(serversFloor, cpu.kvtopCpuSeconds, (servers + cpu.kvtopCpuSeconds) / cores)
  const s = (x: number) => `${x.toFixed(2)} s`
  const bounds = `the servers alone need at least ${s(serversFloor)} (busiest ${s(busiest)}, all ${s(servers)} over ${cores} cores)`
  if (serversFloor > budgetSeconds)
    return `${label}: out of reach on ${cores} cores whatever kvtop does: the goal allows ${s(budgetSeconds)}; ${bounds}`
  return `${label}: within reach on ${cores} cores: the goal allows ${s(budgetSeconds)}; ${bounds}; with this run's kvtop CPU (${s(cpu.kvtopCpuSeconds)}) at least ${s(runFloor)}${runFloor > budgetSeconds ? ': kvtop must spend less CPU' : ''}`
}
