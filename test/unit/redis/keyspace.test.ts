import { describe, expect, it } from 'vitest'
import { keyspace } from '../../../src/redis/info.js'
import { fixture } from '../metrics/fixtures.js'

describe('keyspace(): the one reader of INFO keyspace', () => {
  it('reads every db of a full INFO reply, in ascending order', () => {
    expect(keyspace(fixture('info/redis-6.2-standalone-primary.txt'))).toEqual(
      new Map([
        [0, { keys: 2500000, expires: 1000000, avgTtl: 3600000 }],
        [3, { keys: 10, expires: 0, avgTtl: 0 }],
      ]),
    )
  })

  it("reads Valkey's line with subexpiry, and an INFO keyspace reply alone", () => {
    expect(keyspace(fixture('info/valkey-8.0-cluster-primary.txt')).get(0)).toEqual({
      keys: 25000000,
      expires: 5000000,
      avgTtl: 600000,
    })
    const reply = '# Keyspace\r\ndb12:keys=3,expires=1,avg_ttl=5\r\ndb2:keys=7,expires=0,avg_ttl=0\r\n'
    expect([...keyspace(reply)]).toEqual([
      [2, { keys: 7, expires: 0, avgTtl: 0 }],
      [12, { keys: 3, expires: 1, avgTtl: 5 }],
    ])
  })

  it('an empty server lists no db', () => {
    expect(keyspace('# Keyspace\r\n').size).toBe(0)
    expect(keyspace('').size).toBe(0)
  })
})
