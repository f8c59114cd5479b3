import { describe, expect, it } from 'vitest'
import { difference } from '../../../../src/ops/verify/compare-keys.js'
import { formatVerifyReport } from '../../../../src/ops/verify/format.js'
import { lengthCommand } from '../../../../src/redis/commands.js'
import type { Side } from '../../../../src/ops/verify/side.js'
import type { VerifyReport } from '../../../../src/ops/verify/types.js'
import { mapDbs } from '../../../../src/data/keyspace/db-map.js'

const side = (cluster: boolean) => ({ cluster }) as Side

describe('verify: db pairs', () => {
  it('keeps dbs on a standalone target, maps them with --db-map, refuses what a cluster cannot hold', () => {
    const dbs = new Map([
      [0, 10],
      [3, 5],
    ])
    expect(mapDbs(dbs, side(false), side(false), new Map())).toEqual([
      { source: 0, target: 0 },
      { source: 3, target: 3 },
    ])
    expect(mapDbs(dbs, side(false), side(true), new Map([[3, 0]]))).toEqual([
      { source: 0, target: 0 },
      { source: 3, target: 0 },
    ])
    expect(() => mapDbs(dbs, side(false), side(true), new Map())).toThrow(/keys in db 3.*holds only db 0/)
    // A cluster source has db 0 only, whatever INFO says.
    expect(mapDbs(new Map([[0, 1]]), side(true), side(true), new Map())).toEqual([{ source: 0, target: 0 }])
  })
})

describe('verify: differences and their text', () => {
  it('keys escaped as redis-cli prints them, with exact hex', () => {
    const d = difference(
      'missing-in-target',
      Buffer.from('k\r\n\x00\xff', 'latin1'),
      0,
      'only in source (string)',
    )
    expect(d).toEqual({
      category: 'missing-in-target',
      key: 'k\\r\\n\\x00\\xff',
      keyHex: '6b0d0a00ff',
      db: 0,
      detail: 'only in source (string)',
    })
  })

  it('length commands per type; none for module types', () => {
    expect(lengthCommand('hash')).toBe('HLEN')
    expect(lengthCommand('stream')).toBe('XLEN')
    expect(lengthCommand('ReJSON-RL')).toBeUndefined()
  })

  it('summary: verdict, counts by category, examples; values only when asked', () => {
    const report: VerifyReport = {
      mode: 'full',
      identical: false,
      sourceKeys: 1500,
      targetKeys: 1499,
      counts: { 'missing-in-target': 1, 'missing-in-source': 0, type: 0, value: 1, ttl: 0, count: 0 },
      examples: [
        difference('missing-in-target', Buffer.from('a'), 0, 'only in source (string)'),
        {
          ...difference('value', Buffer.from('h'), 0, 'field "f1": values differ'),
          sourceValue: 'x',
          targetValue: 'y',
        },
      ],
      converged: 2,
      passes: 3,
      seconds: 1.25,
      keysPerSecond: 2399,
      dbs: [{ source: 0, target: 0 }],
    }
    const text = formatVerifyReport(report)
    expect(text.split('\n')).toEqual([
      'DIFFERENT: compared keys, types, TTLs and values of 1500 source keys and 1499 target keys (db 0) in 1.3s, 2399 keys/s, 3 passes',
      '2 differences of the first pass converged (replication or expiry in flight)',
      '  missing in target  1',
      '  value differs      1',
      '',
      'Examples:',
      '  missing in target: "a": only in source (string)',
      '  value differs: "h": field "f1": values differ',
    ])
    expect(formatVerifyReport(report, { showValues: true })).toContain('      source: "x"\n      target: "y"')
  })
})
