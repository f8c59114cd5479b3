import { describe, expect, it } from 'vitest'
import {
  commandPattern,
  formatArgs,
  groupSlowlog,
  keyShape,
  LogCursor,
  mergeSlowlogs,
  parseLogEntries,
  SlowlogStore,
  toSlowlogEntry,
  type NodeRef,
  type RawLogEntry,
} from '../../../src/metrics/slowlog.js'
import { escapeBytes } from '../../../src/data/escape.js'
import { jsonFixture } from './fixtures.js'

const truncated = jsonFixture<{ slowlog: unknown[]; latency: unknown[] }>(
  'metrics/slowlog-7.0-truncated.json',
)
const debug = jsonFixture<{ slowlog: unknown[]; latency: unknown[] }>('metrics/slowlog-7.0-debug.json')

describe('SLOWLOG GET parsing (captured Redis 7.0 replies)', () => {
  it('reads id, time, duration, args, client', () => {
    const entries = parseLogEntries(debug.slowlog)
    expect(entries).toEqual([
      { id: 1, at: 1795330553000, value: 20098, args: ['DEBUG', 'SLEEP', '0.02'], client: '127.0.0.1:36346' },
      { id: 0, at: 1795330553000, value: 30119, args: ['DEBUG', 'SLEEP', '0.03'], client: '127.0.0.1:36332' },
    ])
  })

  it('marks arguments the server cut: "... (N more arguments)" and "... (N more bytes)"', () => {
    const [ack, rpush, set] = parseLogEntries(truncated.slowlog)
    expect(ack.args).toEqual(['REPLCONF', 'ACK', '233711'])
    expect(rpush.args).toHaveLength(31)
    expect(rpush.args.slice(0, 3)).toEqual(['rpush', '{a}l', '1'])
    expect(rpush.args[30]).toBe('29')
    expect(rpush.moreArguments).toBe(11) // 42 arguments sent: 31 kept, 11 more
    expect(set.args[2]).toBe('x'.repeat(128))
    expect(set.truncatedArgs).toEqual([{ index: 2, moreBytes: 72 }]) // a 200-byte value
    expect(formatArgs(set)).toBe(`set k1 ${'x'.repeat(128)}... (72 more bytes)`)
    expect(formatArgs(rpush).endsWith('28 29 ... (11 more arguments)')).toBe(true)
  })

  it('keeps binary arguments binary-safe, escaped the way redis-cli prints them', () => {
    const reply = [
      [
        7,
        1700000000,
        15000,
        [Buffer.from('SET'), Buffer.from([0x6b, 0xff, 0x0d, 0x0a, 0x00, 0x22, 0x5c]), Buffer.from('v')],
        Buffer.from('10.0.0.1:5555'),
        Buffer.from('worker-1'),
      ],
    ]
    const [e] = parseLogEntries(reply)
    expect(e.args).toEqual(['SET', 'k\\xff\\r\\n\\x00\\"\\\\', 'v'])
    expect(e.clientName).toBe('worker-1')
    expect(escapeBytes(Buffer.from('\x07\x08\t ~'))).toBe('\\a\\b\\t ~')
  })

  it('old 4-field entries and junk are tolerated', () => {
    expect(parseLogEntries([[3, 1600000000, 12000, ['KEYS', '*']], ['bad'], 'x', [1, 'nan', 2, []]])).toEqual(
      [{ id: 3, at: 1600000000000, value: 12000, args: ['KEYS', '*'], client: '' }],
    )
    expect(parseLogEntries(null)).toEqual([])
  })
})

function entry(id: number, seconds = 1000 + id, value = 20000, args = ['GET', `key:${id}`]): RawLogEntry {
  return { id, at: seconds * 1000, value, args, client: '127.0.0.1:1' }
}
/** What SLOWLOG GET count returns from a server whose log holds ids [from..to] (newest first). */
function reply(from: number, to: number, count: number): RawLogEntry[] {
  const out: RawLogEntry[] = []
  for (let id = to; id >= from && (count < 0 || out.length < count); id--) out.push(entry(id))
  return out
}

describe('LogCursor: incremental reading by entry id', () => {
  it('first read returns what is there; later reads only newer entries; nothing twice', () => {
    const c = new LogCursor()
    expect(c.accept(reply(0, 4, 32), 32, 'run1').fresh.map((e) => e.id)).toEqual([4, 3, 2, 1, 0])
    expect(c.accept(reply(0, 4, 32), 32, 'run1')).toEqual({
      fresh: [],
      reset: false,
      needAll: false,
      missed: 0,
    })
    expect(c.accept(reply(0, 6, 32), 32, 'run1').fresh.map((e) => e.id)).toEqual([6, 5])
    expect(c.position).toBe(6)
  })

  it('a burst larger than the count asks for the whole log, then misses nothing', () => {
    const c = new LogCursor()
    c.accept(reply(0, 9, 4), 4, 'r')
    // 40 new entries, only 4 returned: not reaching back to id 9.
    const first = c.accept(reply(0, 49, 4), 4, 'r')
    expect(first).toMatchObject({ fresh: [], needAll: true, missed: 0 })
    const all = c.accept(reply(0, 49, -1), -1, 'r')
    expect(all.fresh.map((e) => e.id)).toEqual(Array.from({ length: 40 }, (_, i) => 49 - i))
    expect(all.missed).toBe(0)
  })

  it('entries trimmed by slowlog-max-len (wrap) before they were read are counted as missed', () => {
    const c = new LogCursor()
    c.accept(reply(0, 9, 32), 32, 'r')
    // max-len 128: ids 10..71 were pushed out by the time of the next read; 72..199 remain.
    const res = c.accept(reply(72, 199, -1), -1, 'r')
    expect(res.fresh).toHaveLength(128)
    expect(res.missed).toBe(62)
    expect(res.needAll).toBe(false)
  })

  it('a restart (new run id, or ids going backwards) starts over instead of ignoring new entries', () => {
    const c = new LogCursor()
    c.accept(reply(0, 50, 32), 32, 'run1')
    const restarted = c.accept(reply(0, 2, 32), 32, 'run2')
    expect(restarted.reset).toBe(true)
    expect(restarted.fresh.map((e) => e.id)).toEqual([2, 1, 0])
    const c2 = new LogCursor()
    c2.accept(reply(0, 50, 32), 32)
    const backwards = c2.accept(reply(0, 3, 32), 32)
    expect(backwards.reset).toBe(true)
    expect(backwards.fresh.map((e) => e.id)).toEqual([3, 2, 1, 0])
  })

  it('a log empty at the first read: a later full reply is read in full, nothing counted missed', () => {
    const c = new LogCursor()
    expect(c.accept([], 4, 'r').fresh).toEqual([])
    expect(c.accept(reply(500, 509, 4), 4, 'r')).toMatchObject({ fresh: [], needAll: true })
    const all = c.accept(reply(500, 509, -1), -1, 'r')
    expect(all.fresh).toHaveLength(10)
    expect(all.missed).toBe(0)
    // After a restart with a full reply, the same.
    expect(c.accept(reply(0, 7, 4), 4, 'r2')).toMatchObject({ reset: true, needAll: true })
    expect(c.accept(reply(0, 7, -1), -1, 'r2').fresh).toHaveLength(8)
  })

  it('SLOWLOG RESET empties the list but ids go on: the next entries are new, the reset ones are missed', () => {
    const c = new LogCursor()
    c.accept(reply(0, 5, 32), 32, 'r')
    expect(c.accept([], 32, 'r').fresh).toEqual([])
    // Entries 6 and 7 were logged then reset before the read; 8 came after.
    const res = c.accept([entry(8)], 32, 'r')
    expect(res.fresh.map((e) => e.id)).toEqual([8])
    expect(res.missed).toBe(2)
  })
})

const nodeA: NodeRef = { id: 'a'.repeat(40), address: '10.0.0.1:7000', shard: 0, role: 'primary' }
const nodeB: NodeRef = { id: 'b'.repeat(40), address: '10.0.0.2:7000', shard: 1, role: 'primary' }

describe('merging across nodes', () => {
  it('newest first, node named, duplicates (same process and id) dropped', () => {
    const a = [entry(2, 1002), entry(1, 1001)].map((e) => toSlowlogEntry(e, nodeA, 'runA'))
    const b = [entry(2, 1003), entry(1, 1000)].map((e) => toSlowlogEntry(e, nodeB, 'runB'))
    // The same node seen twice (two addresses for one process): its entries once.
    const aAgain = [entry(2, 1002)].map((e) => toSlowlogEntry(e, { ...nodeA, address: 'alias:7000' }, 'runA'))
    const merged = mergeSlowlogs([a, b, aAgain])
    expect(merged.map((e) => `${e.address}#${e.id}`)).toEqual([
      '10.0.0.2:7000#2',
      '10.0.0.1:7000#2',
      '10.0.0.1:7000#1',
      '10.0.0.2:7000#1',
    ])
    expect(merged[0]).toMatchObject({
      node: nodeB.id,
      shard: 1,
      role: 'primary',
      durationUs: 20000,
      command: 'GET',
      pattern: 'GET key:*',
    })
    expect(mergeSlowlogs([a, b], 2)).toHaveLength(2)
  })

  it('the store keeps each entry once and a bounded number of them', () => {
    const store = new SlowlogStore(3)
    const es = [1, 2, 3, 4].map((i) => toSlowlogEntry(entry(i), nodeA, 'r'))
    expect(store.add(es.slice(0, 2)).map((e) => e.id)).toEqual([2, 1])
    expect(store.add(es.slice(0, 3)).map((e) => e.id)).toEqual([3])
    store.add([es[3]])
    expect(store.list().map((e) => e.id)).toEqual([4, 3, 2])
  })
})

describe('command patterns', () => {
  it('key shapes hide ids, numbers and hashes', () => {
    expect(keyShape('user:42:profile')).toBe('user:*:profile')
    expect(keyShape('session:9f8e7d6c5b4a3921')).toBe('session:*')
    expect(keyShape('{user1}:cart')).toBe('{*}:cart')
    expect(keyShape('kvtop:bin:5:\\xff\\xfe\\r\\n\\x00\\x05')).toBe('kvtop:bin:*')
    expect(keyShape('config')).toBe('config')
  })

  it('patterns by command kind', () => {
    expect(commandPattern(['GET', 'user:1'])).toBe('GET user:*')
    expect(commandPattern(['hgetall', 'cart:77'])).toBe('HGETALL cart:*')
    expect(commandPattern(['DEBUG', 'SLEEP', '0.05'])).toBe('DEBUG SLEEP')
    expect(commandPattern(['CLUSTER', 'nodes'])).toBe('CLUSTER NODES')
    expect(commandPattern(['MEMORY', 'USAGE', 'big:3'])).toBe('MEMORY USAGE big:*')
    expect(commandPattern(['KEYS', 'user:*'])).toBe('KEYS user:*')
    expect(commandPattern(['EVALSHA', 'abcdef0123456789', '1', 'k'])).toBe('EVALSHA abcdef01')
    expect(commandPattern(['FCALL', 'myfunc', '0'])).toBe('FCALL myfunc')
    expect(commandPattern(['SCAN', '0', 'MATCH', 'x*'])).toBe('SCAN')
    expect(commandPattern(['FLUSHALL'])).toBe('FLUSHALL')
    expect(commandPattern([])).toBe('(empty)')
  })

  it('groups: count, total, mean, max, nodes; heaviest first', () => {
    const es = [
      toSlowlogEntry(entry(1, 1001, 10000, ['GET', 'user:1']), nodeA, 'a'),
      toSlowlogEntry(entry(2, 1002, 30000, ['GET', 'user:2']), nodeB, 'b'),
      toSlowlogEntry(entry(3, 1003, 50000, ['KEYS', '*']), nodeA, 'a'),
    ]
    const groups = groupSlowlog(es)
    expect(groups.map((g) => [g.pattern, g.count, g.totalUs, g.avgUs, g.maxUs, g.nodes.length])).toEqual([
      ['KEYS *', 1, 50000, 50000, 50000, 1],
      ['GET user:*', 2, 40000, 20000, 30000, 2],
    ])
    expect(groups[1].slowest.id).toBe(2)
    expect(groups[1]).toMatchObject({ firstAt: 1001000, lastAt: 1002000 })
  })
})
