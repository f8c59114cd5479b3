import { describe, expect, it } from 'vitest'
import { RdbEntry } from '../../../../src/data/rdb/reader.js'
import { TopKeys } from '../../../../src/ops/snapshot/top-keys.js'
import { typeInfo } from '../../../../src/data/rdb/constants.js'

function entry(key: string): RdbEntry {
  const buf = Buffer.from(key)
  return new RdbEntry(0, 0, typeInfo(0, 'oss')!, buf, 0, buf.length, undefined, 0, 0, 1, 0, 0)
}

describe('TopKeys', () => {
  it('keeps the largest, largest first, whatever order they come in; a tie with the smallest kept is not taken', () => {
    const sizes = [5, 90, 3, 70, 71, 1, 200, 8, 95, 60]
    const top = new TopKeys(4)
    sizes.forEach((bytes, i) => top.offer(entry(`k${i}`), bytes))
    top.offer(entry('tie'), 71)
    expect(top.sorted().map((k) => [k.key, k.bytes])).toEqual([
      ['k6', 200],
      ['k8', 95],
      ['k1', 90],
      ['k4', 71],
    ])
  })

  it('none asked for, none kept; fewer keys than the limit: all of them', () => {
    const none = new TopKeys(0)
    none.offer(entry('a'), 10)
    expect(none.sorted()).toEqual([])
    const few = new TopKeys(10)
    for (const [k, b] of [
      ['a', 1],
      ['b', 3],
      ['c', 2],
    ] as const)
      few.offer(entry(k), b)
    expect(few.sorted().map((k) => k.key)).toEqual(['b', 'c', 'a'])
  })
})
