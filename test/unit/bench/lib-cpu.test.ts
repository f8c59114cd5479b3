import { describe, expect, it } from 'vitest'
import { reachNote, type CpuBreakdown } from '../../../bench/lib-cpu.js'

const run = (kvtop: number, servers: number[]): CpuBreakdown => ({
  wallSeconds: 2.4,
  kvtopCpuSeconds: kvtop,
  kvtopRunQueueSeconds: 0.8,
  serverCpuSeconds: servers,
})

describe('bench/lib-cpu.ts reachNote: whether a faster kvtop could meet the goal on this machine', () => {
  it('out of reach when the servers alone, shared over the cores, need more than the goal allows', () => {
    // verify on 2 cores: the source's 1.06 s alone exceed the listing's 0.95 s (and 2.07 s over 2 cores).
    expect(reachNote('kvtop verify', run(1.8, [1.06, 1.01]), 0.95, 2)).toBe(
      'kvtop verify: out of reach on 2 cores whatever kvtop does: the goal allows 0.95 s; the servers alone need at least 1.06 s (busiest 1.06 s, all 2.07 s over 2 cores)',
    )
  })

  it('out of reach when one server alone needs more than the goal allows, however many cores', () => {
    expect(reachNote('scan', run(1.8, [1.67, 0.39, 0.36, 0.36]), 1.5, 64)).toMatch(
      /^scan: out of reach on 64 cores whatever kvtop does: the goal allows 1\.50 s; the servers alone need at least 1\.67 s \(busiest 1\.67 s, all 2\.78 s over 64 cores\)$/,
    )
  })

  it("within reach: says what this run's kvtop CPU allows at best, and when kvtop must spend less", () => {
    // Servers: 1.5 s in all, 0.75 s over 2 cores. kvtop 1.7 s: at least 1.7 s; kvtop 0.9 s: (1.5 + 0.9) / 2.
    expect(reachNote('sync', run(1.7, [0.2, 0.5, 0.4, 0.4]), 1.5, 2)).toBe(
      "sync: within reach on 2 cores: the goal allows 1.50 s; the servers alone need at least 0.75 s (busiest 0.50 s, all 1.50 s over 2 cores); with this run's kvtop CPU (1.70 s) at least 1.70 s: kvtop must spend less CPU",
    )
    expect(reachNote('sync', run(0.9, [0.2, 0.5, 0.4, 0.4]), 1.5, 2)).toBe(
      "sync: within reach on 2 cores: the goal allows 1.50 s; the servers alone need at least 0.75 s (busiest 0.50 s, all 1.50 s over 2 cores); with this run's kvtop CPU (0.90 s) at least 1.20 s",
    )
  })
})
