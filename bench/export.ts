import { spawn } from 'node:child_process'
import {
  exporterCpuRow,
  machineNote,
  MEASURED_BIN,
  pct,
  sleep,
  startRedisExporter,
  stop,
} from './lib-process.js'
import { processCpuSeconds } from './lib-cpu.js'
import { loadedSandbox, type LoadedSandbox } from './lib-sandbox.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'

/**
 * `npm run bench -- export [--scale S]`: `kvtop export` against prometheus-redis-exporter 1.45
 * (Debian) on the same sandbox of 30 x scale shards with 2 replicas each (scale 1: 90 nodes) under a
 * light `sandbox load`, each scraped once a second for the same number of rounds, one after the
 * other. kvtop: one scrape of /metrics carries every node. redis_exporter: one process in its
 * multi-target mode (`/scrape?target=redis://host:port`, one Prometheus target per node with
 * `__param_target` relabelling: its documented way to watch many instances), each node's scrape
 * spread over the second as Prometheus spreads targets. Time per scrape of the deployment: kvtop's
 * one request vs the sum of the exporter's per-node requests (the time it spends answering for the
 * deployment). CPU: utime + stime of each exporter process (/proc/PID/stat) over its rounds. Goals
 * (issue 19): >= 4x faster per scrape, <= half the CPU, with the extra metrics.
 */

interface Timed {
  ms: number
  bytes: number
  ok: boolean
}

async function timedGet(url: string): Promise<Timed> {
  const started = performance.now()
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(10_000) })
    const body = await r.text()
    return {
      ms: performance.now() - started,
      bytes: body.length,
      ok: r.ok && !/redis_up(\{[^}]*\})? 0/.test(body),
    }
  } catch {
    return { ms: performance.now() - started, bytes: 0, ok: false }
  }
}

interface Phase {
  /** Per round: time spent answering for the whole deployment (ms). */
  perRoundMs: number[]
  cpuPercent: number
  failures: number
  bytes: number
  series: number
}

/** The series of a scrape body (sample lines). */
function seriesOf(body: string): string[] {
  return body.split('\n').filter((l) => l && !l.startsWith('#'))
}

async function kvtopPhase(
  url: string,
  nodes: number,
  rounds: number,
  env: NodeJS.ProcessEnv,
): Promise<Phase & { kvtopSeries: number }> {
  const child = spawn(
    process.execPath,
    [MEASURED_BIN, 'export', url, '--listen', '127.0.0.1:0', '--json', '--interval', '1'],
    {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  )
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  try {
    let address: string | undefined
    const deadline = Date.now() + 60_000
    while (!address) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`kvtop export did not start: ${out}`)
      address = /"type":"listening"[^}]*"address":"([^"]+)"/.exec(out)?.[1]
      await sleep(100)
    }
    const metrics = `http://${address}/metrics`
    // Warm-up: every node polled twice (rates and counters), the process past its start.
    while (Date.now() < deadline) {
      const body = await (await fetch(metrics)).text()
      const up = /^kvtop_deployment_nodes_up\{[^}]*\} (\d+)$/m.exec(body)
      if (up && Number(up[1]) === nodes) break
      await sleep(500)
    }
    await sleep(3000)
    const cpu0 = processCpuSeconds(child.pid!)
    const t0 = Date.now()
    const perRoundMs: number[] = []
    let failures = 0
    let bytes = 0
    for (let i = 0; i < rounds; i++) {
      const started = Date.now()
      const r = await timedGet(metrics)
      perRoundMs.push(r.ms)
      bytes = r.bytes
      if (!r.ok) failures++
      await sleep(Math.max(0, started + 1000 - Date.now()))
    }
    const cpuPercent = ((processCpuSeconds(child.pid!) - cpu0) / ((Date.now() - t0) / 1000)) * 100
    const body = await (await fetch(metrics)).text()
    const series = seriesOf(body)
    return {
      perRoundMs,
      cpuPercent,
      failures,
      bytes,
      series: series.length,
      kvtopSeries: series.filter((l) => l.startsWith('kvtop_')).length,
    }
  } finally {
    stop(child)
  }
}

async function exporterPhase(ports: number[], rounds: number): Promise<Phase | { error: string }> {
  const exporter = await startRedisExporter()
  if ('error' in exporter) return exporter
  const { child, listen } = exporter
  try {
    const scrape = (p: number) => timedGet(`http://127.0.0.1:${listen}/scrape?target=redis://127.0.0.1:${p}`)
    // Warm-up round.
    await Promise.all(ports.map(scrape))
    const cpu0 = processCpuSeconds(child.pid!)
    const t0 = Date.now()
    const perRoundMs: number[] = []
    let failures = 0
    let bytes = 0
    let series = 0
    const gap = 1000 / ports.length
    for (let i = 0; i < rounds; i++) {
      const started = Date.now()
      // Prometheus spreads its targets over the interval: node k is scraped at k/N of the second.
      const results = await Promise.all(
        ports.map(async (p, k) => {
          await sleep(Math.max(0, started + k * gap - Date.now()))
          return scrape(p)
        }),
      )
      perRoundMs.push(results.reduce((s, r) => s + r.ms, 0))
      failures += results.filter((r) => !r.ok).length
      bytes = results.reduce((s, r) => s + r.bytes, 0)
      await sleep(Math.max(0, started + 1000 - Date.now()))
    }
    const cpuPercent = ((processCpuSeconds(child.pid!) - cpu0) / ((Date.now() - t0) / 1000)) * 100
    for (const p of ports) {
      const r = await fetch(`http://127.0.0.1:${listen}/scrape?target=redis://127.0.0.1:${p}`)
      series += seriesOf(await r.text()).length
    }
    return { perRoundMs, cpuPercent, failures, bytes, series }
  } finally {
    stop(child)
  }
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const scale = options.scale > 0 ? options.scale : 1
  const shards = Math.max(1, Math.round(30 * scale))
  const replicas = 2
  const rounds = Math.max(10, Math.round(60 * Math.min(1, scale * 2)))
  const notes: string[] = []
  let sandbox: LoadedSandbox | undefined
  try {
    sandbox = await loadedSandbox('bench-export', shards, replicas)
    const { summary, env } = sandbox
    const nodes = summary.nodes.length
    notes.push(sandbox.note)

    const kvtop = await kvtopPhase(summary.url, nodes, rounds, env)
    const exporter = await exporterPhase(
      summary.nodes.map((n) => n.port),
      rounds,
    )
    const k = [...kvtop.perRoundMs].sort((a, b) => a - b)
    const k50 = pct(k, 50)
    const k99 = pct(k, 99)
    notes.push(
      `kvtop export (one process, one engine polling every node each second): ${rounds} scrapes of /metrics at 1 s, ` +
        `p50 ${k50.toFixed(1)} ms, p99 ${k99.toFixed(1)} ms, ${(kvtop.bytes / 1024).toFixed(0)} KiB, ${kvtop.series} series ` +
        `(${kvtop.kvtopSeries} of them kvtop's own figures); process CPU ${kvtop.cpuPercent.toFixed(1)} % of one core; failed scrapes ${kvtop.failures}`,
    )
    const rows: BenchRow[] = []
    if ('error' in exporter) {
      notes.push(`prometheus-redis-exporter: ${exporter.error}`)
    } else {
      const e = [...exporter.perRoundMs].sort((a, b) => a - b)
      const e50 = pct(e, 50)
      const e99 = pct(e, 99)
      notes.push(
        `prometheus-redis-exporter 1.45 (one process, /scrape?target= per node, ${nodes} targets spread over each second): ` +
          `per round (all ${nodes} nodes) the scrapes took p50 ${e50.toFixed(1)} ms, p99 ${e99.toFixed(1)} ms in sum, ` +
          `${(exporter.bytes / 1024).toFixed(0)} KiB, ${exporter.series} series; process CPU ${exporter.cpuPercent.toFixed(1)} % of one core; failed scrapes ${exporter.failures}`,
      )
      rows.push({
        case: `time per scrape of ${nodes} nodes, p50`,
        kvtop: { seconds: k50 / 1000, rate: 1000 / k50, unit: 'scrapes/s' },
        anchor: { name: 'prometheus-redis-exporter', seconds: e50 / 1000, rate: 1000 / e50 },
        ratio: e50 / k50,
        goal: '>= 4x faster per scrape',
        met: e50 / k50 >= 4,
      })
      rows.push({
        case: `time per scrape of ${nodes} nodes, p99`,
        kvtop: { seconds: k99 / 1000, rate: 1000 / k99, unit: 'scrapes/s' },
        anchor: { name: 'prometheus-redis-exporter', seconds: e99 / 1000, rate: 1000 / e99 },
        ratio: e99 / k99,
        goal: '>= 4x faster per scrape',
        met: e99 / k99 >= 4,
      })
      rows.push(
        exporterCpuRow(
          `exporter CPU, ${nodes} nodes at 1 s`,
          'scrapes',
          nodes,
          { kvtop: kvtop.cpuPercent, exporter: exporter.cpuPercent },
          '<= half the CPU',
          kvtop.cpuPercent * 2 <= exporter.cpuPercent,
        ),
      )
    }
    notes.push(machineNote())
    return { name: 'export', rows, notes }
  } finally {
    await sandbox?.down()
  }
}
