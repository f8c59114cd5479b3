import { describe, expect, it } from 'vitest'
import { csvCell, statusCsvHeader, statusCsvRows } from '../../../src/metrics/csv.js'
import { clusterSnapshot } from '../dashboard/snapshots.js'

describe('status CSV', () => {
  it('quotes cells per RFC 4180 and leaves unknown figures empty', () => {
    expect([csvCell(undefined), csvCell(3), csvCell(0.123456), csvCell('a,b'), csvCell('say "hi"')]).toEqual([
      '',
      '3',
      '0.1235',
      '"a,b"',
      '"say ""hi"""',
    ])
  })

  it('one row per node, as many cells as the header', () => {
    const s = clusterSnapshot(2, 1)
    const rows = statusCsvRows(s)
    expect(rows).toHaveLength(s.nodes.length)
    const header = statusCsvHeader().split(',')
    expect(header.slice(0, 6)).toEqual(['at', 'round', 'node', 'role', 'shard', 'up'])
    for (const row of rows) expect(row.split(',')).toHaveLength(header.length)
    expect(rows[0].split(',').slice(1, 4)).toEqual([String(s.round), s.nodes[0].address, s.nodes[0].role])
  })
})
