import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { fromMemoryDBCluster } from '../../../../src/aws/discovery.js'
import { cloudWatchHistory } from '../../../../src/ops/triage/cloudwatch.js'
import { markdownReport, triageJson } from '../../../../src/ops/triage/report.js'
import type { TriageReport } from '../../../../src/ops/triage/types.js'
import { emptyReport } from './fixtures.js'

/**
 * triage keeps CloudWatch's series and the time of each peak (triage.json), and draws them in
 * report.md: a sparkline per node and metric, Mermaid charts of what matters in an incident.
 */
const cw = mockClient(CloudWatchClient)
afterAll(() => cw.restore())

const aws = fromMemoryDBCluster(
  {
    Name: 'sessions',
    Engine: 'valkey',
    EngineVersion: '7.3',
    Shards: [
      {
        Name: '0001',
        Slots: '0-16383',
        Nodes: [1, 2].map((r) => ({
          Name: `sessions-0001-00${r}`,
          Endpoint: { Address: `10.0.0.${r}`, Port: 6379 },
        })),
      },
    ],
  },
  'eu-west-1',
)
const A = 'sessions-0001-001'
const B = 'sessions-0001-002'

/** The datapoint of period `k` (0 = the window's first), or none. */
function value(node: string, metric: string, k: number): number | undefined {
  switch (metric) {
    case 'EngineCPUUtilization':
      // A: a staircase 0, 10, ... 70, three periods a step. B: 50, with half an hour missing.
      if (node === A) return (Math.floor(k / 3) % 8) * 10
      return k >= 90 && k < 120 ? undefined : 50
    case 'GetTypeCmds':
      return node === A && k >= 60 && k < 65 ? 1000 : 100
    case 'SetTypeCmds':
      return 50
    case 'ReplicationLag':
      return node === B ? (k === 100 ? 7.25 : 0.5) : undefined
    default:
      return undefined
  }
}

let windowStart = 0
beforeEach(() => {
  cw.reset()
  cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
    const start = input.StartTime!.getTime()
    const end = input.EndTime!.getTime()
    windowStart = start
    return {
      MetricDataResults: input.MetricDataQueries!.map((q) => {
        const stat = q.MetricStat!
        const node = stat.Metric!.Dimensions!.find((d) => d.Name === 'NodeName')!.Value!
        const period = stat.Period! * 1000
        const Timestamps: Date[] = []
        const Values: number[] = []
        for (let k = 0; start + k * period < end; k++) {
          const v = value(node, stat.Metric!.MetricName!, k)
          if (v === undefined) continue
          Timestamps.push(new Date(start + k * period))
          Values.push(v)
        }
        return { Id: q.Id, Timestamps, Values, StatusCode: 'Complete' }
      }),
    }
  })
})

const utc = (ms: number) => new Date(ms).toISOString().slice(11, 16)

function report(cloudwatch: TriageReport['cloudwatch']): TriageReport {
  return emptyReport({
    cloudwatch,
    dataPlane: { reachable: false, reason: 'no answer from 10.0.0.1:6379 within 5s', code: 'timeout' },
  })
}

describe('triage: CloudWatch series, peaks and pictures', () => {
  it('keeps every series on the window and the time of each peak', async () => {
    const summary = await cloudWatchHistory(aws, { region: 'eu-west-1' }, 3)
    expect(summary.error).toBeUndefined()
    // 3 hours of 60 s periods.
    const cpuA = summary.series![A].engineCpu
    expect(cpuA).toMatchObject({ start: windowStart, periodSeconds: 60 })
    expect(cpuA.values).toHaveLength(180)
    expect(cpuA.values.slice(0, 7)).toEqual([0, 0, 0, 10, 10, 10, 20])
    // The first period at the maximum (70, the 8th step: period 21).
    expect(summary.peaks![A].engineCpu).toEqual({ value: 70, at: windowStart + 21 * 60_000 })
    expect(summary.nodes[A].engineCpu).toBe(70)
    // Gaps stay gaps.
    expect(summary.series![B].engineCpu.values.slice(88, 92)).toEqual([50, 50, null, null])
    expect(summary.peaks![B].replicationLag).toEqual({ value: 7.25, at: windowStart + 100 * 60_000 })
    // Nothing where CloudWatch had nothing.
    expect(summary.series![A].replicationLag).toBeUndefined()

    // triage.json: the series and peaks, each series on one line.
    const json = triageJson(report(summary))
    expect(JSON.parse(json).cloudwatch.peaks[A].engineCpu).toEqual({
      value: 70,
      at: windowStart + 21 * 60_000,
    })
    expect(json).toContain(`"values": [0, 0, 0, 10, 10, 10, 20, 20, 20, 30,`)
    expect(json.split('\n').length).toBeLessThan(200)
  })

  it('report.md: a sparkline per node and metric with its peak, Mermaid charts of commands and lag', async () => {
    const md = markdownReport(report(await cloudWatchHistory(aws, { region: 'eu-west-1' }, 3)))
    const lines = md.split('\n')
    // 180 periods in 60 characters: each the highest of three.
    expect(lines).toContain(
      `| ${A} | engineCpu | 70% | ${utc(windowStart + 21 * 60_000)} | \`${'▁▂▃▄▅▆▇█'.repeat(8).slice(0, 60)}\` |`,
    )
    expect(lines).toContain(
      `| ${B} | engineCpu | 50% | ${utc(windowStart)} | \`${'█'.repeat(30)}${' '.repeat(10)}${'█'.repeat(20)}\` |`,
    )
    expect(lines).toContain(
      `| ${B} | replicationLag | 7.25s | ${utc(windowStart + 100 * 60_000)} | \`${'▁'.repeat(33)}█${'▁'.repeat(26)}\` |`,
    )
    // 36 points of 5 periods: the burst of period 60-64 (A: 1000 + 50, B: 100 + 50) is point 12.
    const labels = Array.from({ length: 36 }, (_, b) => `"${utc(windowStart + b * 5 * 60_000)}"`).join(', ')
    const commands = Array.from({ length: 36 }, (_, b) => (b === 12 ? 1200 : 300)).join(', ')
    expect(md).toContain(
      [
        'Periods of 1 min; each point is the highest in 5 min (UTC).',
        '',
        '```mermaid',
        'xychart-beta',
        '  title "Commands per period, all nodes (GetTypeCmds + SetTypeCmds)"',
        `  x-axis [${labels}]`,
        '  y-axis "commands"',
        `  line [${commands}]`,
        '```',
      ].join('\n'),
    )
    const lag = Array.from({ length: 36 }, (_, b) => (b === 20 ? 7.25 : 0.5)).join(', ')
    expect(md).toContain(
      [
        '```mermaid',
        'xychart-beta',
        '  title "Replication lag, worst replica (seconds)"',
        `  x-axis [${labels}]`,
        '  y-axis "seconds"',
        `  line [${lag}]`,
        '```',
      ].join('\n'),
    )
    // No chart for what CloudWatch did not have (latency, memory, evictions).
    expect(md.match(/```mermaid/g)).toHaveLength(2)
  })
})
