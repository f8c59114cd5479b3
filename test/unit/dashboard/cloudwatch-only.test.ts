import { describe, expect, it } from 'vitest'
import { fromMemoryDBCluster } from '../../../src/aws/discovery.js'
import type { TopologyNode } from '../../../src/connect/topology.js'
import { runTop } from '../../../src/dashboard/run.js'
import { nodeTable } from '../../../src/dashboard/node-table.js'
import { initialViewState } from '../../../src/dashboard/view-state.js'
import { DEFAULT_THRESHOLDS } from '../../../src/metrics/alerts.js'
import { CloudWatchOnlyMonitor } from '../../../src/aws/cloudwatch-only.js'
import { dashboardsClosedAfterEach, FakeTerminal } from './terminal.js'

/** `top --cloudwatch` when the nodes cannot be reached: what the terminal shows. */
const aws = fromMemoryDBCluster(
  {
    Name: 'sessions',
    Engine: 'valkey',
    EngineVersion: '7.3',
    Shards: [0, 1].map((s) => ({
      Name: `000${s + 1}`,
      Slots: s === 0 ? '0-8191' : '8192-16383',
      Nodes: [1, 2].map((r) => ({
        Name: `sessions-000${s + 1}-00${r}`,
        Endpoint: { Address: `10.0.${s}.${r}`, Port: 6379 },
      })),
    })),
  },
  'eu-west-1',
)

const figures: Record<string, Record<string, number>> = {
  'sessions-0001-001': {
    cpu: 12,
    engineCpu: 97,
    memoryUsagePercent: 41,
    isPrimary: 1,
    currConnections: 1200,
  },
  'sessions-0001-002': { cpu: 8, engineCpu: 30, isPrimary: 0, replicationLag: 0.75 },
  'sessions-0002-001': { cpu: 9, engineCpu: 35, isPrimary: 1 },
  'sessions-0002-002': { cpu: 7, engineCpu: 20, isPrimary: 0, replicationLag: 0.25 },
}

function monitor(): CloudWatchOnlyMonitor {
  return new CloudWatchOnlyMonitor(
    aws,
    {
      name: 'cloudwatch',
      intervalMs: 60_000,
      poll: async (nodes: TopologyNode[]) => new Map(nodes.map((n) => [n.id, { ...figures[n.id] }])),
    },
    { reachable: false, reason: 'no answer from 10.0.0.1:6379 within 5s', code: 'timeout' },
    { intervalMs: 50 },
  )
}

const onTerminal = dashboardsClosedAfterEach()

describe('top, nodes unreachable from here', () => {
  it('the header says so (wrapped to the screen, nothing cut), the table shows AWS names and CloudWatch figures', async () => {
    const m = monitor()
    const snap = await m.poll()
    for (const [columns, rows] of [
      [120, 40],
      [100, 30],
      [80, 24],
    ]) {
      const { d } = onTerminal(columns, rows)
      d.update(snap, m.history, [])
      const screen = d.screenText()
      expect(screen[1], `${columns} columns`).toMatch(
        /^│kvtop {2}memorydb {2}valkey 7\.3 {2}cluster {2}2 shards {2}4 nodes \(AWS\)/,
      )
      // The header box ends at the first bottom border; every line of the notice is inside it.
      const bottom = screen.findIndex((l) => l.startsWith('└'))
      const notice = screen
        .slice(2, bottom)
        .map((l) => l.replace(/^│|│$/g, '').trim())
        .join(' ')
      expect(notice, `${columns} columns`).toBe(
        'nodes unreachable from here (no answer from 10.0.0.1:6379 within 5s): showing CloudWatch only; run kvtop from inside the VPC (bastion, SSM port forwarding) for live figures',
      )
      const text = screen.join('\n')
      expect(text).toMatch(/NODE +AWS NODE +ROLE +SH +CPU +ENGINE CPU +MEM%/)
      expect(text).toMatch(/10\.0\.0\.1:6379 +sessions-0001-001 +primary +0 +12% +97% +41%/)
      expect(text).toMatch(/10\.0\.0\.2:6379 +sessions-0001-002 +replica +0 +8% +30%/)
      expect(text).toContain('nodes 4/4')
      // Unreachable from here is not down: no red rows.
      const table = nodeTable(snap, initialViewState(), DEFAULT_THRESHOLDS, columns - 2).rows
      expect(table).toHaveLength(4)
      for (const r of table) expect(r.tagged).not.toContain('{red-fg}')
      if (columns >= 90) {
        // No empty charts: the table across the screen, the CloudWatch panel and the alerts below.
        expect(text).not.toContain('ops/s')
        expect(text).not.toContain('replication lag')
        expect(text).toMatch(/─ cloudwatch ─/)
        expect(text).toContain('engineCpu=20')
      }
    }
  })

  it("sorting by CPU uses CloudWatch's engine CPU when there are no live figures", async () => {
    const { d, term } = onTerminal(120, 40)
    const m = monitor()
    d.update(await m.poll(), m.history, [])
    await term.type('s', 's', 's')
    const sorted = d.screenText().join('\n')
    expect(sorted).toContain('sort: cpu desc')
    expect(sorted.indexOf('sessions-0001-001')).toBeLessThan(sorted.indexOf('sessions-0002-001'))
    expect(sorted.indexOf('sessions-0002-001')).toBeLessThan(sorted.indexOf('sessions-0001-002'))
  })

  it('runTop drives it until q, then stops the monitor', async () => {
    const m = monitor()
    await m.poll()
    const term = new FakeTerminal(160, 48)
    const running = runTop(m, { input: term.input, output: term.output, terminal: 'xterm-256color' })
    // Until three rounds were drawn (one came before runTop, one may be on its way): waited for, not timed.
    while ((m.latest?.round ?? 0) < 5) await new Promise((r) => setTimeout(r, 20))
    await term.type('q')
    const summary = await running
    expect(summary.rounds).toBeGreaterThanOrEqual(3)
    for (const word of ['unreachable', 'sessions-0002-002', '97%', 'bastion,'])
      expect(term.written).toContain(word)
    const rounds = summary.rounds
    await new Promise((r) => setTimeout(r, 200))
    expect(m.latest!.round).toBeLessThanOrEqual(rounds)
  })
})
