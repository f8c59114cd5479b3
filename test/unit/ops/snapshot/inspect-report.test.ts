import { describe, expect, it } from 'vitest'
import { RdbReader, type RdbRecord } from '../../../../src/data/rdb/reader.js'
import { InspectTally } from '../../../../src/ops/snapshot/inspect-report.js'
import { len, listpack, rdbFile, str } from '../../../helpers/rdb-craft.js'

async function* chunks(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes
}

/** The records of `file`, read as `snapshot inspect` reads them. */
async function records(file: Buffer): Promise<RdbRecord[]> {
  const out: RdbRecord[] = []
  for await (const rec of new RdbReader(chunks(file), { countElements: true, validate: true }).records())
    out.push(rec)
  return out
}

describe('InspectTally', () => {
  it('keys, expires, elements and bytes per db and type, the largest keys, expired keys and trailing bytes', async () => {
    const binKey = Buffer.from([0x6b, 0x0d, 0x0a, 0x00, 0xff])
    const file = rdbFile(
      11,
      [
        {
          db: 3,
          entries: [
            { type: 0, key: Buffer.from('s'), value: str('abc') },
            { type: 0, key: binKey, value: str('x'.repeat(40)), expireMs: 5_000 },
          ],
        },
        {
          db: 0,
          entries: [
            {
              type: 18,
              key: Buffer.from('list'),
              value: Buffer.concat([len(1), len(2), str(listpack(['a', 'b', 7]))]),
            },
            { type: 0, key: Buffer.from('later'), value: str('v'), expireMs: 20_000 },
          ],
        },
      ],
      { aux: [['redis-ver', '7.2.4']] },
    )
    const tally = new InspectTally('dump.rdb', file.length + 3, 2, 10_000)
    for (const rec of await records(file)) tally.add(rec)
    const report = tally.report()
    const listBytes = Buffer.concat([len(1), len(2), str(listpack(['a', 'b', 7]))]).length
    expect(report).toMatchObject({
      file: 'dump.rdb',
      size: file.length + 3,
      magic: 'REDIS',
      rdbVersion: 11,
      aux: { 'redis-ver': '7.2.4' },
      checksum: { status: 'ok' },
      totals: { keys: 4, expires: 2, elements: 6, bytes: 4 + 41 + listBytes + 2 },
      functions: { libraries: 0, names: [] },
      modules: [],
      expiredAtRead: 1,
      trailingBytes: 3,
    })
    expect(report.dbs.map((d) => [d.db, d.keys, d.expires, d.sizeHint])).toEqual([
      [0, 2, 1, { keys: 2, expires: 1 }],
      [3, 2, 1, { keys: 2, expires: 1 }],
    ])
    expect(report.dbs[1].types).toEqual({
      string: { keys: 2, expires: 1, elements: 2, bytes: 45, encodings: { string: 2 } },
    })
    expect(report.dbs[0].types.list).toEqual({
      keys: 1,
      expires: 0,
      elements: 3,
      bytes: listBytes,
      encodings: { 'quicklist-v2': 1 },
    })
    expect(report.largest).toEqual([
      {
        key: 'k\\r\\n\\x00\\xff',
        db: 3,
        type: 'string',
        encoding: 'string',
        bytes: 41,
        elements: 1,
        expireAt: 5_000,
      },
      { key: 'list', db: 0, type: 'list', encoding: 'quicklist-v2', bytes: listBytes, elements: 3 },
    ])
  })
})
