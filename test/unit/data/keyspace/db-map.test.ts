import { describe, expect, it } from 'vitest'
import type { Side } from '../../../../src/ops/verify/side.js'
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
