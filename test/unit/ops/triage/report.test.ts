import { describe, expect, it } from 'vitest'
import { formatTriage, markdownReport } from '../../../../src/ops/triage/report.js'
import { emptyReport } from './fixtures.js'

describe('a CloudWatch-only report', () => {
  const report = emptyReport({
    keys: {
      sampled: 0,
      bigKeys: [],
      hotKeys: [],
      notes: ['keys not sampled: the nodes cannot be reached from here'],
    },
    nodes: [
      { address: 'm-0001-001.x:6379', role: 'primary', shard: 0, up: false },
      { address: 'm-0001-002.x:6379', role: 'replica', shard: 0, up: false },
    ],
    cloudwatch: {
      hours: 3,
      nodes: { 'm-0001-001': { cpu: 5 } },
      addresses: { 'm-0001-001': 'm-0001-001.x:6379' },
    },
    dataPlane: { reachable: false, reason: "cannot resolve host 'clustercfg.m.x'", code: 'dns' },
  })
  const line =
    "nodes unreachable from here (cannot resolve host 'clustercfg.m.x'): showing CloudWatch only; run kvtop from inside the VPC (bastion, SSM port forwarding) for live figures"

  it('the summary: the line first, no "nothing looks wrong" when the nodes were not checked', () => {
    const text = formatTriage(report).split('\n')
    expect(text[0]).toBe(line)
    expect(text[1]).toBe('memorydb valkey 7.3 | cluster | 1 shard | 2 nodes | CloudWatch, last 3 hours')
    expect(text).toContain('No CloudWatch findings (the nodes themselves were not checked).')
  })

  it('report.md: the line, the nodes AWS describes, CloudWatch; no empty workload tables', () => {
    const md = markdownReport(report)
    expect(md).toContain(`**${line}.**`)
    expect(md).toContain('| m-0001-002.x:6379 | replica | 0 |')
    expect(md).toContain('- m-0001-001 (`m-0001-001.x:6379`): cpu 5')
    expect(md).not.toContain('## Workload')
    expect(md).not.toContain('Nothing looks wrong')
  })
})
