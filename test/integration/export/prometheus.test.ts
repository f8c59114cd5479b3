import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseInfo, parseInfoReplicas } from '../../../src/redis/info.js'
import { freePort } from '../../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'
import { eventually, startExport, type RunningExport } from './export-process.js'

/**
 * `kvtop export` scraped by a real Prometheus server (Debian's `prometheus` package): the figures
 * reach PromQL as INFO gives them, and a killed replica shows as down.
 */
const PROMETHEUS =
  ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p)) ??
  (spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim() || undefined)
if (!PROMETHEUS)
  console.warn(
    'prometheus is not installed (apt-get install prometheus): skipping the export end-to-end test',
  )

describe.skipIf(!PROMETHEUS)('kvtop export scraped by Prometheus', () => {
  let sb: TestSandbox
  let primary: Redis
  let replica: Redis
  let exporter: RunningExport | undefined
  let prometheus: ChildProcess | undefined
  let promPort: number
  let dir: string
  let replicaAddr: string
  let primaryAddr: string
  let replicaPid: number
  let prometheusLog = ''

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvtop-prometheus-'))
    sb = await startSandbox({ shards: 0, replicas: 1 })
    const p = sb.summary.nodes.find((n) => n.role === 'primary')!
    const r = sb.summary.nodes.find((n) => n.role === 'replica')!
    primaryAddr = `127.0.0.1:${p.port}`
    replicaAddr = `127.0.0.1:${r.port}`
    replicaPid = r.pid!
    primary = await sb.admin(p.port)
    replica = await sb.admin(r.port)
    exporter = await startExport([sb.url, '--interval', '0.5'])
    promPort = await freePort()
    const config = join(dir, 'prometheus.yml')
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: kvtop',
        '    static_configs:',
        `      - targets: ['${exporter.address}']`,
        '',
      ].join('\n'),
    )
    prometheus = spawn(
      PROMETHEUS!,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    prometheus.stderr!.on('data', (d) => (prometheusLog = (prometheusLog + String(d)).slice(-4000)))
    await eventually('Prometheus to be ready', async () => {
      const r = await fetch(`http://127.0.0.1:${promPort}/-/ready`).catch(() => undefined)
      return r?.ok ? true : undefined
    })
  }, 180_000)

  afterAll(async () => {
    try {
      process.kill(replicaPid, 'SIGCONT')
    } catch {
      // already gone
    }
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('close', r))
      prometheus.kill('SIGTERM')
      const t = setTimeout(() => prometheus!.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(t)
    }
    await exporter?.stop()
    await sb?.down()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  /** The value of a PromQL instant query's only series, or undefined while there is none. */
  async function query(promql: string): Promise<number | undefined> {
    const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(promql)}`)
    const body = (await r.json()) as { status: string; data: { result: { value: [number, string] }[] } }
    if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`)
    const result = body.data.result
    if (result.length > 1) throw new Error(`${promql}: ${result.length} series, expected one`)
    return result.length ? Number(result[0].value[1]) : undefined
  }

  /** Lag by the primary's INFO: master_repl_offset minus the replica's acknowledged offset. */
  async function infoLag(): Promise<number> {
    const info = parseInfo(String(await primary.call('INFO', 'replication')))
    const [line] = parseInfoReplicas(info)
    return Number(info.master_repl_offset) - line.offset
  }

  it('serves both nodes up, and a replica lag in bytes that matches INFO', async () => {
    await eventually('both nodes up in Prometheus', async () =>
      (await query(`sum(redis_up{deployment="${primaryAddr}"})`)) === 2 ? true : undefined,
    )
    // Steady state: the primary's offset equals the replica's own, and kvtop says 0.
    for (let i = 0; i < 20; i++) await primary.set(`k:${i}`, Buffer.alloc(100, i))
    await eventually('the steady-state lag to match INFO', async () => {
      const own = parseInfo(String(await replica.call('INFO', 'replication')))
      const fromInfo =
        Number(parseInfo(String(await primary.call('INFO', 'replication'))).master_repl_offset) -
        Number(own.slave_repl_offset)
      const promql = await query(`kvtop_replica_lag_bytes{addr="${replicaAddr}"}`)
      return promql === fromInfo ? promql : undefined
    })

    // A replica that stops processing (SIGSTOP) falls behind by what the primary writes meanwhile.
    process.kill(replicaPid, 'SIGSTOP')
    try {
      for (let i = 0; i < 50; i++) await primary.set(`stalled:${i}`, Buffer.alloc(1000, 0xff))
      const lag = await eventually(
        'kvtop_replica_lag_bytes to match INFO while the replica is stalled',
        async () => {
          const fromInfo = await infoLag()
          const promql = await query(`kvtop_replica_lag_bytes{addr="${replicaAddr}"}`)
          return promql === fromInfo && fromInfo > 50_000 ? promql : undefined
        },
      )
      expect(lag).toBeGreaterThan(50_000)
      // The primary's own offset reaches Prometheus under redis_exporter's name.
      const offset = Number(parseInfo(String(await primary.call('INFO', 'replication'))).master_repl_offset)
      await eventually('redis_master_repl_offset to match INFO', async () =>
        (await query(`redis_master_repl_offset{addr="${primaryAddr}"}`)) === offset ? true : undefined,
      )
    } finally {
      process.kill(replicaPid, 'SIGCONT')
    }
    await eventually('the replica to catch up', async () =>
      (await query(`kvtop_replica_lag_bytes{addr="${replicaAddr}"}`)) === 0 &&
      (await query(`redis_up{addr="${replicaAddr}"}`)) === 1
        ? true
        : undefined,
    )
  }, 240_000)

  it('shows a killed replica as down', async () => {
    process.kill(replicaPid, 'SIGKILL')
    await eventually('redis_up 0 for the killed replica', async () =>
      (await query(`redis_up{addr="${replicaAddr}"}`)) === 0 ? true : undefined,
    )
    expect(await query(`redis_up{addr="${primaryAddr}"}`)).toBe(1)
    await eventually('a node-down event counted', async () =>
      ((await query(`kvtop_events_total{deployment="${primaryAddr}",type="node-down"}`)) ?? 0) >= 1
        ? true
        : undefined,
    )
    expect(await query(`kvtop_node_poll_state{addr="${replicaAddr}",state="ok"}`)).toBe(0)
    expect(prometheusLog).not.toMatch(/level=error/)
  }, 180_000)
})
