import { describe, expect, it } from 'vitest'
import {
  formatCommandLog,
  formatCommandLogGroups,
  formatCommandLogLine,
} from '../../../src/metrics/format.js'
import { groupCommandLog } from '../../../src/metrics/log-groups.js'
import { CommandLogStore, mergeCommandLogs } from '../../../src/metrics/log-merge.js'
import { formatArgs, parseLogEntries } from '../../../src/metrics/log-reply.js'
import { parseCommandLog, type NodeRef } from '../../../src/metrics/slowlog.js'
import { replyFixture } from './fixtures.js'

const largeRequest = replyFixture('commandlog/valkey-8.1-large-request.json')
const largeReplyA = replyFixture('commandlog/valkey-8.1-large-reply.json')
const largeReplyB = replyFixture('commandlog/valkey-8.1-large-reply-node-b.json')
const slow = replyFixture('commandlog/valkey-8.1-slow.json')

const nodeA: NodeRef = { id: 'a'.repeat(40), address: '10.0.0.1:7000', shard: 0, role: 'primary' }
const nodeB: NodeRef = { id: 'b'.repeat(40), address: '10.0.0.2:7001', shard: 1, role: 'primary' }

describe('COMMANDLOG GET parsing (Valkey 8.1 fixtures)', () => {
  it('the fixtures are the commands kvtop sends: COMMANDLOG GET <count> <type>', () => {
    expect(largeRequest.command).toEqual(['COMMANDLOG', 'GET', '32', 'large-request'])
    expect(largeReplyA.command).toEqual(['COMMANDLOG', 'GET', '32', 'large-reply'])
    expect(slow.command).toEqual(['COMMANDLOG', 'GET', '32', 'slow'])
  })

  it('large-request: the size in bytes (no durationUs), binary arguments escaped, a cut value marked', () => {
    const [set, migrate, rpush] = parseCommandLog(largeRequest.reply, 'large-request', nodeA, 'runA')
    expect(set).toMatchObject({
      kind: 'large-request',
      id: 7,
      at: 1767225605000,
      bytes: 1048616,
      command: 'SET',
      pattern: 'SET img:*',
      client: '10.0.3.9:40100',
      clientName: 'thumbs',
      node: nodeA.id,
      address: '10.0.0.1:7000',
      shard: 0,
      role: 'primary',
      runId: 'runA',
    })
    expect(set).not.toHaveProperty('durationUs')
    expect(set.args[1]).toBe('img:\\xff\\xd8:42')
    // The 1 MiB JPEG value: its first 128 bytes, escaped like redis-cli, and how many more there were.
    expect(set.args[2].startsWith('\\xff\\xd8\\xff\\xe0\\x00\\x10JFIF\\x00')).toBe(true)
    expect(set.truncatedArgs).toEqual([{ index: 2, moreBytes: 1048448 }])
    expect(formatArgs(set).endsWith('... (1048448 more bytes)')).toBe(true)
    expect(migrate).toMatchObject({ id: 6, bytes: 1200106, pattern: 'MIGRATE', moreArguments: 39978 })
    expect(migrate.args).toHaveLength(31)
    expect(rpush).toMatchObject({ id: 5, bytes: 1320036, pattern: 'RPUSH queue:jobs', moreArguments: 19971 })
  })

  it('the AUTH password of a logged MIGRATE is masked when parsed: it never reaches an entry', () => {
    const entries = parseCommandLog(largeRequest.reply, 'large-request', nodeA)
    expect(entries[1].args.slice(0, 9)).toEqual([
      'MIGRATE',
      '10.0.0.9',
      '6379',
      '',
      '0',
      '5000',
      'AUTH',
      '***',
      'KEYS',
    ])
    expect(JSON.stringify(entries)).not.toContain('s3cr3t-Pa55')
  })

  it('large-reply: sizes, binary keys, an empty client name left out', () => {
    const entries = parseCommandLog(largeReplyA.reply, 'large-reply', nodeA, 'runA')
    expect(entries.map((e) => [e.kind, e.id, e.bytes, e.pattern, e.clientName ?? null])).toEqual([
      ['large-reply', 12, 3355443, 'HGETALL cart:*', 'checkout-api'],
      ['large-reply', 11, 1572864, 'LRANGE queue:jobs', null],
      ['large-reply', 10, 1048600, 'GET img:*', 'thumbs'],
      ['large-reply', 9, 614400, 'KEYS *', 'ops-shell'],
    ])
    expect(entries[2].args).toEqual(['GET', 'img:\\x89PNG\\r\\n\\x1a\\n'])
  })

  it('slow: the same entry parser, the value read as microseconds; the AUTH password masked', () => {
    const entries = parseCommandLog(slow.reply, 'slow', nodeA)
    expect(entries.map((e) => [e.id, e.durationUs, e.args])).toEqual([
      [21, 152031, ['KEYS', '*']],
      [20, 12044, ['AUTH', 'app-user', '***']],
    ])
    expect(entries[0]).not.toHaveProperty('kind')
    // One helper underneath: what SLOWLOG GET's parser reads of the same reply.
    expect(parseLogEntries(slow.reply).map((e) => e.value)).toEqual([152031, 12044])
  })
})

describe('COMMANDLOG entries from many nodes', () => {
  const a = parseCommandLog(largeReplyA.reply, 'large-reply', nodeA, 'runA')
  const b = parseCommandLog(largeReplyB.reply, 'large-reply', nodeB, 'runB')

  it('merged newest first (a bigger reply first within a second), duplicates by node process and id dropped', () => {
    // The same process reached at a second address (an alias): its entries once.
    const aAgain = parseCommandLog(
      largeReplyA.reply,
      'large-reply',
      { ...nodeA, address: 'alias:7000' },
      'runA',
    )
    const merged = mergeCommandLogs([a, b, aAgain])
    expect(merged.map((e) => `${e.address}#${e.id}`)).toEqual([
      '10.0.0.1:7000#12',
      '10.0.0.2:7001#4',
      '10.0.0.1:7000#11',
      '10.0.0.1:7000#10',
      '10.0.0.2:7001#3',
      '10.0.0.1:7000#9',
    ])
    expect(mergeCommandLogs([a, b], 2).map((e) => e.id)).toEqual([12, 4])
  })

  it('without a run id, node address and id identify an entry; each kind numbers its own entries', () => {
    const noRun = parseCommandLog(largeReplyA.reply, 'large-reply', nodeA)
    expect(mergeCommandLogs([noRun, noRun])).toHaveLength(4)
    // large-request #12 and large-reply #12 of the same node are two entries.
    const request12 = { ...parseCommandLog(largeRequest.reply, 'large-request', nodeA, 'runA')[0], id: 12 }
    expect(mergeCommandLogs([a, [request12]])).toHaveLength(5)
  })

  it('the store keeps each entry once, newest first, bounded', () => {
    const store = new CommandLogStore(5)
    expect(store.add(a).map((e) => e.id)).toEqual([12, 11, 10, 9])
    expect(store.add([...a, ...b]).map((e) => e.id)).toEqual([4, 3])
    expect(store.size).toBe(5)
    expect(store.list().map((e) => `${e.address}#${e.id}`)).toEqual([
      '10.0.0.1:7000#12',
      '10.0.0.2:7001#4',
      '10.0.0.1:7000#11',
      '10.0.0.1:7000#10',
      '10.0.0.2:7001#3',
    ])
  })

  it('groups by pattern: count, total, mean and max bytes, nodes; most bytes first', () => {
    const groups = groupCommandLog(mergeCommandLogs([a, b]))
    expect(
      groups.map((g) => [g.kind, g.pattern, g.count, g.totalBytes, g.avgBytes, g.maxBytes, g.nodes.length]),
    ).toEqual([
      ['large-reply', 'HGETALL cart:*', 2, 5557452, 2778726, 3355443, 2],
      ['large-reply', 'LRANGE queue:jobs', 1, 1572864, 1572864, 1572864, 1],
      ['large-reply', 'MGET img:*', 1, 1310720, 1310720, 1310720, 1],
      ['large-reply', 'GET img:*', 1, 1048600, 1048600, 1048600, 1],
      ['large-reply', 'KEYS *', 1, 614400, 614400, 614400, 1],
    ])
    expect(groups[0].largest).toMatchObject({ address: '10.0.0.1:7000', id: 12 })
  })

  it('tables and lines show the size where the slowlog shows the duration', () => {
    const merged = mergeCommandLogs([a, b])
    const table = formatCommandLog(merged, 'large-reply').split('\n')
    expect(table[0]).toMatch(/^TIME\s+REPLY\s+NODE\s+SHARD\s+ROLE\s+COMMAND\s+CLIENT/)
    expect(table[1]).toMatch(/ 3\.2M {2}10\.0\.0\.1:7000 .* HGETALL cart:77 +10\.0\.3\.7:51234/)
    expect(formatCommandLog([], 'large-request')).toBe('No large-request entries.')
    expect(formatCommandLogLine(merged[1])).toMatch(
      / 2\.1M {2}10\.0\.0\.2:7001 +s1 +primary {2}HGETALL cart:91/,
    )
    const groups = formatCommandLogGroups(groupCommandLog(merged), 'large-reply').split('\n')
    expect(groups[1]).toMatch(/^HGETALL cart:\* +2 +5\.3M +2\.6M +3\.2M +2 /)
  })
})
