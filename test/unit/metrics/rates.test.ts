import { describe, expect, it } from 'vitest'
import { parseInfoSections } from '../../../src/redis/info.js'
import { toNodeInfo, type NodeInfo } from '../../../src/metrics/node-info.js'
import { counterDelta, counterRate, nodeRates } from '../../../src/metrics/rates.js'

/** A minimal INFO text with the counters the rates read. */
function info(o: {
  run?: string
  uptime?: number
  processed: number
  hits?: number
  misses?: number
  netIn?: number
  netOut?: number
  cpuSys?: number
  cpuUser?: number
  evicted?: number
  expired?: number
  errors?: number
  syncFull?: number
  cmds?: Record<string, [number, number]>
  latency?: Record<string, string>
}): NodeInfo {
  const lines = [
    '# Server',
    'redis_version:7.0.15',
    `run_id:${o.run ?? 'r1'}`,
    `uptime_in_seconds:${o.uptime ?? 100}`,
    '# Stats',
    `total_commands_processed:${o.processed}`,
    `total_connections_received:10`,
    `keyspace_hits:${o.hits ?? 0}`,
    `keyspace_misses:${o.misses ?? 0}`,
    `total_net_input_bytes:${o.netIn ?? 0}`,
    `total_net_output_bytes:${o.netOut ?? 0}`,
    `evicted_keys:${o.evicted ?? 0}`,
    `expired_keys:${o.expired ?? 0}`,
    `total_error_replies:${o.errors ?? 0}`,
    `sync_full:${o.syncFull ?? 0}`,
    '# CPU',
    `used_cpu_sys:${o.cpuSys ?? 0}`,
    `used_cpu_user:${o.cpuUser ?? 0}`,
    '# Commandstats',
    ...Object.entries(o.cmds ?? {}).map(
      ([c, [calls, usec]]) =>
        `cmdstat_${c}:calls=${calls},usec=${usec},usec_per_call=${(usec / calls).toFixed(2)},rejected_calls=0,failed_calls=0`,
    ),
    '# Latencystats',
    ...Object.entries(o.latency ?? {}).map(([c, v]) => `latency_percentiles_usec_${c}:${v}`),
  ]
  return toNodeInfo(parseInfoSections(lines.join('\r\n')))
}

describe('counters', () => {
  it('a negative delta is a reset, not a negative rate', () => {
    expect(counterDelta(100, 150)).toEqual({ value: 50, reset: false })
    expect(counterDelta(150, 100)).toEqual({ value: undefined, reset: true })
    expect(counterDelta(undefined, 100)).toEqual({ value: undefined, reset: false })
    expect(counterRate(100, 300, 2)).toBe(100)
    expect(counterRate(300, 100, 2)).toBeUndefined()
    expect(counterRate(100, 300, 0)).toBeUndefined()
  })
})

describe('nodeRates', () => {
  const prev = info({
    processed: 10_000,
    hits: 900,
    misses: 100,
    netIn: 1_000_000,
    netOut: 5_000_000,
    cpuSys: 10,
    cpuUser: 20,
    evicted: 5,
    expired: 50,
    errors: 7,
    cmds: { get: [6000, 9000], set: [3000, 7500], info: [100, 5000] },
    latency: { get: 'p50=1.003,p99=4.015,p99.9=9.023', set: 'p50=2.003,p99=9.023,p99.9=12.031' },
  })
  const cur = info({
    processed: 12_010,
    hits: 1700,
    misses: 300,
    netIn: 1_400_000,
    netOut: 6_000_000,
    cpuSys: 10.2,
    cpuUser: 20.3,
    evicted: 25,
    expired: 90,
    errors: 9,
    syncFull: 1,
    cmds: { get: [7200, 10800], set: [3800, 9500], info: [102, 5100] },
    latency: { get: 'p50=1.003,p99=5.023,p99.9=9.023', set: 'p50=2.003,p99=10.047,p99.9=12.031' },
  })

  it('per second over the interval, kvtop own commands taken out', () => {
    const r = nodeRates({ prev, cur, seconds: 2, ownCommands: { info: 2, 'slowlog|get': 2 } })
    expect(r.countersReset).toBe(false)
    // 2010 processed, 4 of them kvtop's.
    expect(r.opsPerSec).toBe(1003)
    expect(r.hitRatio).toBeCloseTo(800 / 1000, 10)
    expect(r.netInputBytesPerSec).toBe(200_000)
    expect(r.netOutputBytesPerSec).toBe(500_000)
    expect(r.cpuPercent).toBeCloseTo(25, 10) // 0.5 s of CPU in 2 s
    expect(r.evictionsPerSec).toBe(10)
    expect(r.expiredPerSec).toBe(20)
    expect(r.errorsPerSec).toBe(1)
    expect(r.fullSyncs).toBe(1)
    // Commands: get 1200 calls / 1800 usec, set 800 / 2000; kvtop's 2 INFO calls gone entirely.
    expect(r.commands.map((c) => [c.command, c.opsPerSec, c.usecPerCall])).toEqual([
      ['get', 600, 1.5],
      ['set', 400, 2.5],
    ])
    expect(r.latencyUs).toBeCloseTo(3800 / 2000, 10)
    expect(r.p99Us).toBe(10.047)
    expect(r.p50Us).toBe(2.003)
  })

  it("kvtop's own refused commands (a COMMANDLOG the server does not have) are not the clients' errors", () => {
    // 2 error replies in 2 s, 1 of them kvtop's: 0.5/s are the clients'; never below zero.
    expect(nodeRates({ prev, cur, seconds: 2, ownErrors: 1 }).errorsPerSec).toBe(0.5)
    expect(nodeRates({ prev, cur, seconds: 2, ownErrors: 5 }).errorsPerSec).toBe(0)
  })

  it('CONFIG RESETSTAT (counters down, same process): no rates for that interval, flagged', () => {
    const after = info({ processed: 50, cmds: { get: [40, 60] }, hits: 10, misses: 0 })
    const r = nodeRates({ prev, cur: after, seconds: 1 })
    expect(r.countersReset).toBe(true)
    expect(r.opsPerSec).toBeUndefined()
    expect(r.hitRatio).toBeUndefined()
    expect(r.netInputBytesPerSec).toBeUndefined()
    expect(r.commands.find((c) => c.command === 'set')).toBeUndefined()
  })

  it('a restart (new run id) resets everything even where counters happen to be higher', () => {
    const restarted = info({
      run: 'r2',
      uptime: 1,
      processed: 20_000,
      hits: 5000,
      misses: 0,
      cmds: { get: [9000, 9000] },
    })
    const r = nodeRates({ prev, cur: restarted, seconds: 1 })
    expect(r.countersReset).toBe(true)
    expect(r.opsPerSec).toBeUndefined()
    expect(r.commands).toEqual([])
    expect(r.cpuPercent).toBeUndefined()
  })

  it('no lookups in the interval: no hit ratio (not 0 %, not NaN)', () => {
    const r = nodeRates({
      prev,
      cur: info({
        processed: 10_001,
        hits: 900,
        misses: 100,
        cmds: { get: [6000, 9000], set: [3000, 7500], info: [100, 5000] },
      }),
      seconds: 1,
    })
    expect(r.hitRatio).toBeUndefined()
  })
})
