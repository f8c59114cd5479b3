import { describe, expect, it } from 'vitest'
import { parseByteSize } from '../../../../src/flags.js'
import { evaluateChecks } from '../../../../src/metrics/check/evaluate.js'
import { formatCheck, formatNagios, perfdata } from '../../../../src/metrics/check/format.js'
import { DEFAULT_LEVELS, parseLevels, type CheckLevels } from '../../../../src/metrics/check/levels.js'
import { clusterSnapshot, slowEntry } from '../../dashboard/snapshots.js'

const levels = (over: Partial<CheckLevels> = {}): CheckLevels => ({ ...DEFAULT_LEVELS, ...over })

describe('byte sizes and level pairs', () => {
  it('reads sizes in redis.conf units (k = 1000, kb = KiB = 1024)', () => {
    expect(parseByteSize('1048576', 'lag-bytes')).toBe(1048576)
    expect(parseByteSize('1k', 'lag-bytes')).toBe(1000)
    expect(parseByteSize('1kb', 'lag-bytes')).toBe(1024)
    expect(parseByteSize('1MB', 'lag-bytes')).toBe(1048576)
    expect(parseByteSize('1.5GiB', 'lag-bytes')).toBe(1610612736)
    expect(parseByteSize('2m', 'lag-bytes')).toBe(2_000_000)
    expect(() => parseByteSize('1XB', 'lag-bytes')).toThrow(
      "invalid --lag-bytes '1XB': expected a byte size such as 1048576, 512kb, 1MB or 1.5GiB (k = 1000, kb = KiB = 1024)",
    )
    expect(() => parseByteSize('-1', 'lag-bytes')).toThrow(/invalid --lag-bytes '-1'/)
  })

  it('reads WARN:CRIT, WARN, :CRIT and off; refuses a critical level under the warning one', () => {
    expect(parseLevels('1MB:10MB', 'lag-bytes')).toEqual({ warning: 1048576, critical: 10485760 })
    expect(parseLevels('80', 'memory')).toEqual({ warning: 80 })
    expect(parseLevels('80:', 'memory')).toEqual({ warning: 80 })
    expect(parseLevels(':0', 'nodes-down')).toEqual({ critical: 0 })
    expect(parseLevels('off', 'slowlog')).toEqual({})
    expect(() => parseLevels('95:80', 'memory')).toThrow(
      "invalid --memory '95:80': the critical level is below the warning level",
    )
    expect(() => parseLevels('1:2:3', 'memory')).toThrow(
      "invalid --memory '1:2:3': expected WARN:CRIT, WARN, :CRIT or off",
    )
    expect(() => parseLevels('101', 'memory')).toThrow(
      /invalid --memory '101': expected a percent from 0 to 100/,
    )
  })
})

describe('evaluateChecks', () => {
  it('a healthy cluster is ok, with perfdata for what was measured', () => {
    const result = evaluateChecks(clusterSnapshot(2, 1), levels())
    expect(result.status).toBe('ok')
    expect(result.breaches).toEqual([])
    expect(formatCheck(result)).toBe('kvtop check: OK - 4/4 nodes up, no threshold broken')
    expect(formatNagios(result)).toBe(
      'KVTOP OK - 4/4 nodes up, no threshold broken | lag_bytes=0B;8388608;67108864;0; ' +
        'lag_seconds=0s;5;30;0; memory=51%;90;95;0;100 nodes_down=0;;0;0;4 slots_covered=16384;;;0;16384',
    )
  })

  it('memory asked for on nodes without maxmemory is named as not checked, never read as ok', () => {
    const snap = clusterSnapshot(2, 1, (n) => {
      n.memory = { ...n.memory, usedFraction: undefined }
    })
    const result = evaluateChecks(snap, levels())
    expect(result.status).toBe('ok')
    expect(result.unchecked).toEqual([
      { check: 'memory', reason: 'no node has maxmemory set, and the level is a share of maxmemory' },
    ])
    expect(result.figures.map((f) => f.label)).not.toContain('memory')
    expect(formatCheck(result, result.unchecked)).toBe(
      'kvtop check: OK - 4/4 nodes up, no threshold broken\n' +
        'NOT CHECKED memory: no node has maxmemory set, and the level is a share of maxmemory',
    )
    expect(formatNagios(result, result.unchecked).split('\n')[1]).toBe(
      'NOT CHECKED memory: no node has maxmemory set, and the level is a share of maxmemory',
    )
    // Off, it is not a question asked.
    expect(evaluateChecks(snap, levels({ memory: {} })).unchecked).toEqual([])
    // One node with maxmemory is enough to measure.
    expect(evaluateChecks(clusterSnapshot(2, 1), levels()).unchecked).toEqual([])
  })

  it('one line per breach: node, measured value, level; critical first', () => {
    const snap = clusterSnapshot(2, 1, (n, i) => {
      if (i === 1) n.replication = { ...n.replication!, lagBytes: 12 * 1024 * 1024, lagSeconds: 7.25 }
      if (i === 2) n.memory = { ...n.memory, usedFraction: 0.834 }
      if (i === 3) n.up = false
    })
    snap.deployment.slotsCovered = 16384 - 100
    const result = evaluateChecks(snap, levels({ 'lag-bytes': parseLevels('1MB:10MB', 'lag-bytes') }))
    expect(result.status).toBe('critical')
    expect(formatCheck(result).split('\n')).toEqual([
      'kvtop check: CRITICAL - 3 critical, 1 warning: lag-bytes 127.0.0.1:7001: 12.0 MiB behind its primary, critical above 10.0 MiB',
      'CRITICAL lag-bytes 127.0.0.1:7001: 12.0 MiB behind its primary, critical above 10.0 MiB',
      'CRITICAL nodes-down: 1 of 4 nodes down (127.0.0.1:7003 replica of shard 1), critical above 0',
      'CRITICAL slots: 100 of 16384 slots not served',
      'WARNING lag-seconds 127.0.0.1:7001: 7.25 s behind its primary, warning above 5 s',
    ])
    expect(result.breaches[0]).toMatchObject({
      check: 'lag-bytes',
      severity: 'critical',
      address: '127.0.0.1:7001',
      value: 12582912,
      threshold: 10485760,
    })
    // The memory of 83.4% is under the default 90% warning level.
    expect(formatNagios(result).split('\n')[0]).toBe(
      'KVTOP CRITICAL - 3 critical, 1 warning: lag-bytes 127.0.0.1:7001: 12.0 MiB behind its primary, critical above 10.0 MiB' +
        ' | lag_bytes=12582912B;1048576;10485760;0; lag_seconds=7.25s;5;30;0; memory=83.4%;90;95;0;100' +
        ' nodes_down=1;;0;0;4 slots_covered=16284;;;0;16384',
    )
  })

  it('warning only: exit-1 level; memory, evictions and slowlog rates per node', () => {
    const snap = clusterSnapshot(1, 0, (n) => {
      n.memory = { ...n.memory, usedFraction: 0.834 }
      n.evictionsPerSec = 12.5
    })
    snap.intervalMs = 2000
    snap.slowlog = [1, 2, 3, 4, 5, 6].map((id) => ({
      ...slowEntry(id, ['get', 'k']),
      node: snap.nodes[0].id,
    }))
    const result = evaluateChecks(
      snap,
      levels({
        memory: parseLevels('80:95', 'memory'),
        evictions: parseLevels('1:100', 'evictions'),
        slowlog: parseLevels('2:10', 'slowlog'),
      }),
    )
    expect(result.status).toBe('warning')
    expect(result.breaches.map((b) => `${b.severity} ${b.message}`)).toEqual([
      'warning memory 127.0.0.1:7000: 83.4% of maxmemory, warning above 80%',
      'warning evictions 127.0.0.1:7000: 12.5/s keys evicted, warning above 1/s',
      'warning slowlog 127.0.0.1:7000: 3/s new slowlog entries, warning above 2/s',
    ])
  })

  it('a replica whose link is down is critical; cluster state fail is critical; off turns a check off', () => {
    const snap = clusterSnapshot(1, 1, (n, i) => {
      if (i === 1) n.replication = { ...n.replication!, link: 'down', lagBytes: undefined }
    })
    snap.deployment.clusterState = 'fail'
    const result = evaluateChecks(snap, levels())
    expect(result.breaches.map((b) => b.message)).toEqual([
      'replica-link 127.0.0.1:7001: the link to its primary is down',
      'cluster-state: the cluster state is fail',
    ])
    const off = evaluateChecks(snap, levels({ 'lag-bytes': {}, 'lag-seconds': {} }))
    expect(off.breaches.map((b) => b.check)).toEqual(['cluster-state'])
  })

  it('perfdata follows label=value[UOM];warn;crit;min;max', () => {
    expect(
      perfdata({ label: 'memory', value: 83.4444, uom: '%', warning: 80, critical: 95, min: 0, max: 100 }),
    ).toBe('memory=83.444%;80;95;0;100')
    expect(perfdata({ label: 'evictions', value: 0, uom: '', warning: 0, min: 0 })).toBe('evictions=0;0;;0;')
  })
})
