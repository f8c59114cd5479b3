import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * What triage must read from every node, not only the one it connected to: a node shows its
 * MIGRATING / IMPORTING markers only in its own CLUSTER NODES line, and a slow command only in its
 * own slowlog. Triage connects to the first primary; the evidence is on the second.
 */
interface Finding {
  severity: 'critical' | 'warning' | 'info'
  category: string
  node?: string
  summary: string
  evidence?: Record<string, unknown>
}

interface Report {
  findings: Finding[]
  workload: { slowlog: { pattern: string; nodes: string[] }[] }
}

let sb: TestSandbox
let first: { port: number }
let second: { port: number }
let firstAdmin: Redis
let secondAdmin: Redis

/** The sandbox URL pointing at one node. */
const urlOf = (port: number) => sb.url.replace(/:\d+(\/\d+)?$/, `:${port}$1`)

beforeAll(async () => {
  sb = await startSandbox({ shards: 2 })
  const primaries = sb.summary.nodes.filter((n) => n.role === 'primary').sort((a, b) => a.shard - b.shard)
  ;[first, second] = primaries
  firstAdmin = await sb.admin(first.port)
  secondAdmin = await sb.admin(second.port)
})

afterAll(async () => {
  await sb?.down()
})

const triage = (args: string[]) =>
  runCli(['triage', urlOf(first.port), '--json', '--scan-keys', '0', ...args], { timeoutMs: 60_000 })

describe('triage reads every primary', () => {
  it('an open slot: MIGRATING on the second primary, IMPORTING on the first, both named', async () => {
    const firstId = String(await firstAdmin.call('CLUSTER', 'MYID'))
    const secondId = String(await secondAdmin.call('CLUSTER', 'MYID'))
    const own = String(await secondAdmin.call('CLUSTER', 'NODES')).match(
      /myself,master - \d+ \d+ \d+ connected (\d+)/,
    )
    const slot = Number(own![1]) + 7
    await secondAdmin.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', firstId)
    await firstAdmin.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', secondId)
    try {
      const r = await triage(['--duration', '1'])
      expect(r.code, r.stderr).toBe(0)
      const { findings } = JSON.parse(r.stdout) as Report
      const open = findings.filter((f) => f.category === 'topology' && /open slot/.test(f.summary))
      const [a, b] = [`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`]
      expect(open, JSON.stringify(findings, null, 1)).toEqual([
        expect.objectContaining({
          severity: 'warning',
          node: b,
          summary: `open slot ${slot}: ${b} migrating to ${a}, ${a} importing from ${b}`,
          evidence: { slots: [slot], from: b, to: a, migrating: true, importing: true },
        }),
      ])
    } finally {
      await secondAdmin.call('CLUSTER', 'SETSLOT', String(slot), 'STABLE')
      await firstAdmin.call('CLUSTER', 'SETSLOT', String(slot), 'STABLE')
    }
    // Settled: no finding.
    const after = await triage(['--duration', '1'])
    expect(after.code, after.stderr).toBe(0)
    expect((JSON.parse(after.stdout) as Report).findings.filter((f) => /open slot/.test(f.summary))).toEqual(
      [],
    )
  })

  it("a command slow on the second primary during the run: a finding with that node's host:port", async () => {
    const before = (await secondAdmin.config('GET', 'slowlog-log-slower-than')) as string[]
    await secondAdmin.config('SET', 'slowlog-log-slower-than', '20000')
    await secondAdmin.call('SLOWLOG', 'RESET')
    try {
      const run = startCli(['triage', urlOf(first.port), '--json', '--scan-keys', '0', '--duration', '3'], {
        timeoutMs: 60_000,
      })
      // Inside the measuring window (between its two polls).
      await run.waitForStderr(/"phase":"measure"/)
      await new Promise((r) => setTimeout(r, 800))
      await secondAdmin.call('DEBUG', 'SLEEP', '0.05')
      const r = await run.done
      expect(r.code, r.stderr).toBe(0)
      const report = JSON.parse(r.stdout) as Report
      const address = `127.0.0.1:${second.port}`
      const slow = report.findings.find((f) => f.category === 'workload' && /DEBUG SLEEP/.test(f.summary))
      expect(slow, JSON.stringify(report.findings, null, 1)).toMatchObject({
        severity: 'info',
        node: address,
        evidence: { count: 1, nodes: [address] },
      })
      expect(slow!.summary).toMatch(
        new RegExp(
          `^slowlog: DEBUG SLEEP took up to \\d+(\\.\\d)? ms on ${address.replace(/\./g, '\\.')} \\(1 entry\\)$`,
        ),
      )
      // The workload section names the node by address too, not by cluster node id.
      expect(report.workload.slowlog.find((g) => g.pattern === 'DEBUG SLEEP')?.nodes).toEqual([address])
    } finally {
      await secondAdmin.config('SET', 'slowlog-log-slower-than', before[1])
    }
  })
})
