import { afterEach, describe, expect, it } from 'vitest'
import { MonitorEngine } from '../../../src/metrics/engine.js'
import { readCommandLog, statusJson } from '../../../src/metrics/service.js'
import { commandLogErrors as errors, LoggingNode } from './commandlog-node.js'
import { wired } from './fake-node.js'
import { FakeNode, topologyOf } from './fake-node.js'
import { replyFixture } from './fixtures.js'

const engines: MonitorEngine[] = []
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

function engineFor(nodes: FakeNode[], options: Partial<ConstructorParameters<typeof MonitorEngine>[2]> = {}) {
  const byPort = new Map(nodes.map((n) => [n.port, n]))
  const engine = new MonitorEngine(undefined, topologyOf(nodes), {
    intervalMs: 200,
    timeoutMs: 150,
    connect: async ({ port }) => byPort.get(port)!.connection(),
    ...options,
  })
  engines.push(engine)
  return engine
}

/** Time passes between two rounds (rates need a non-zero interval). */
const tick = () => new Promise((r) => setTimeout(r, 5))

/** A node's rate figure times the seconds between its two INFO samples: the count over the interval. */
function overInterval(engine: MonitorEngine, id: string, perSec: number | undefined): number {
  const states = (engine as unknown as { states: Map<string, { infoAt: number; prevAt: number }> }).states
  const s = states.get(id)!
  return Math.round((perSec ?? NaN) * ((s.infoAt - s.prevAt) / 1000))
}

describe('COMMANDLOG in the poller (Valkey 8.1+)', () => {
  it('reads both size logs of every node from the first round on, merged across nodes, each entry once', async () => {
    const [a, b] = wired([new LoggingNode(7600, 'valkey', '8.1.1'), new LoggingNode(7601, 'valkey', '8.1.1')])
    a.logs['large-request'] = replyFixture('commandlog/valkey-8.1-large-request.json').reply as unknown[]
    a.logs['large-reply'] = replyFixture('commandlog/valkey-8.1-large-reply.json').reply as unknown[]
    b.logs['large-reply'] = replyFixture('commandlog/valkey-8.1-large-reply-node-b.json').reply as unknown[]
    const engine = engineFor([a, b])

    // First round: the version is known only from this round's INFO; the logs are read in the same round.
    const first = await engine.poll()
    expect(first.commandLog!.largeRequests.map((e) => [e.address, e.id, e.bytes])).toEqual([
      ['127.0.0.1:7600', 7, 1048616],
      ['127.0.0.1:7600', 6, 1200106],
      ['127.0.0.1:7600', 5, 1320036],
    ])
    expect(first.commandLog!.largeReplies.map((e) => `${e.address}#${e.id} ${e.role}`)).toEqual([
      '127.0.0.1:7600#12 primary',
      '127.0.0.1:7601#4 replica',
      '127.0.0.1:7600#11 primary',
      '127.0.0.1:7600#10 primary',
      '127.0.0.1:7601#3 replica',
      '127.0.0.1:7600#9 primary',
    ])
    expect(JSON.stringify(first)).not.toContain('s3cr3t-Pa55')

    // Nothing new: nothing reported again.
    expect((await engine.poll()).commandLog).toEqual({ largeRequests: [], largeReplies: [] })
    b.log('large-reply', 5, 5_000_000, ['ZRANGE', 'board:7', '0', '-1'])
    const third = await engine.poll()
    expect(third.commandLog!.largeReplies.map((e) => [e.address, e.id, e.pattern, e.bytes])).toEqual([
      ['127.0.0.1:7601', 5, 'ZRANGE board:*', 5_000_000],
    ])
    expect(third.commandLog!.largeRequests).toEqual([])
    expect(engine.commandLog['large-reply'].size).toBe(7)
    expect(engine.commandLogSupport().map((n) => n.support)).toEqual(['yes', 'yes'])

    // status --json: the newest entries of both logs, next to the slowlog.
    const json = statusJson({ snapshot: third, events: [] }, engine)
    expect(json.commandLog!.largeReplies).toHaveLength(7)
    expect(json.commandLog!.largeReplies[0]).toMatchObject({ kind: 'large-reply', id: 5, bytes: 5_000_000 })
    expect(json.commandLog!.largeRequests).toHaveLength(3)

    // Only reads were sent: COMMANDLOG GET <count> <type>, never LEN or RESET.
    for (const n of [a, b]) {
      expect(n.received.length).toBe(6)
      for (const args of n.received) {
        expect(args.slice(0, 3)).toEqual(['COMMANDLOG', 'GET', '32'])
        expect(['large-request', 'large-reply']).toContain(args[3])
      }
    }
  })

  it('a burst bigger than one read is read in full in the same round, without a gap', async () => {
    const [a] = wired([new LoggingNode(7610, 'valkey', '8.2.0')])
    const engine = engineFor([a], { slowlogCount: 2 })
    await engine.poll()
    for (let i = 0; i < 5; i++) a.log('large-reply', i, 2_000_000 + i, ['HGETALL', `cart:${i}`])
    const snap = await engine.poll()
    expect(snap.commandLog!.largeReplies.map((e) => e.id)).toEqual([4, 3, 2, 1, 0])
    expect(snap.events.filter((e) => e.type === 'commandlog-gap')).toEqual([])
    expect(a.received).toContainEqual(['COMMANDLOG', 'GET', '-1', 'large-reply'])
  })

  it('Redis 7.2 and Valkey 8.0 are never asked: no commandLog anywhere, no event, figures unchanged', async () => {
    const nodes = wired([new LoggingNode(7620, 'redis', '7.2.4'), new LoggingNode(7621, 'valkey', '8.0.2')])
    const engine = engineFor(nodes)
    let snap = await engine.poll()
    for (let i = 0; i < 3; i++) {
      await tick()
      snap = await engine.poll()
    }
    for (const n of nodes) expect(n.received).toEqual([])
    expect(snap).not.toHaveProperty('commandLog')
    expect(statusJson({ snapshot: snap, events: [] }, engine)).not.toHaveProperty('commandLog')
    expect(snap.events).toEqual([])
    expect(snap.nodes.map((n) => n.errorsPerSec)).toEqual([0, 0])
    expect(engine.commandLogSupport().map((n) => n.support)).toEqual(['no', 'no'])
    expect(engine.hasCommandLog).toBe(false)
  })

  it.each([
    ['unknown command (renamed away)', errors['valkey-8.1-renamed']],
    ['NOPERM (the ACL)', errors['valkey-8.1-acl']],
  ])(
    "a Valkey 8.1 that answers %s is asked once, then never again; its error replies are not counted as the clients'",
    async (_what, error) => {
      const [a] = wired([new LoggingNode(7630, 'valkey', '8.1.0')])
      a.refuse = error
      const engine = engineFor([a])
      await engine.poll()
      // Round 1 asked both logs once (after INFO named the version); the refusal is remembered.
      expect(a.received.map((r) => r[3])).toEqual(['large-request', 'large-reply'])
      expect(a.errorReplies).toBe(2)
      a.load(500)
      await tick()
      const second = await engine.poll()
      const id = second.nodes[0].id
      // The server counted two error replies and no command for them in this interval: kvtop's own.
      expect(second.nodes[0].errorsPerSec).toBe(0)
      expect(overInterval(engine, id, second.nodes[0].opsPerSec)).toBe(500)
      a.errorReplies += 3
      await tick()
      const third = await engine.poll()
      expect(overInterval(engine, id, third.nodes[0].errorsPerSec)).toBe(3)
      await engine.poll()
      expect(a.received).toHaveLength(2)
      expect(third).not.toHaveProperty('commandLog')
      expect(third.events).toEqual([])
      expect(engine.commandLogSupport()[0].support).toBe('no')
    },
  )

  it('`commandlog: false` never asks; `slowlog: false, commandlog: true` (slowlog --kind) reads COMMANDLOG alone', async () => {
    const [a] = wired([new LoggingNode(7640, 'valkey', '8.1.1')])
    a.log('large-request', 0, 3_000_000, ['SET', 'k', 'v'])
    const off = engineFor([a], { commandlog: false })
    await off.poll()
    expect((await off.poll()).commandLog).toBeUndefined()
    expect(a.received).toEqual([])
    const only = engineFor([a], { slowlog: false, commandlog: true })
    const slowlogGets = a.calls['slowlog|get'] ?? 0
    const snap = await only.poll()
    expect(snap.commandLog!.largeRequests.map((e) => e.bytes)).toEqual([3_000_000])
    expect(a.calls['slowlog|get'] ?? 0).toBe(slowlogGets)
  })

  it('`slowlog --kind large-reply` during a rolling upgrade: entries of the 8.1 node, the 8.0 node named', async () => {
    const [a, b] = wired([new LoggingNode(7650, 'valkey', '8.1.1'), new LoggingNode(7651, 'valkey', '8.0.2')])
    a.logs['large-reply'] = replyFixture('commandlog/valkey-8.1-large-reply.json').reply as unknown[]
    const engine = engineFor([a, b], { slowlog: false, commandlog: true, slowlogCount: 3 })
    const report = await readCommandLog(engine, 'large-reply', 3, true)
    expect(report).toMatchObject({ kind: 'large-reply', nodes: 2, nodesRead: 2, errors: [] })
    expect(report.entries.map((e) => e.id)).toEqual([12, 11, 10])
    expect(report.groups!.map((g) => g.pattern)).toEqual(['HGETALL cart:*', 'LRANGE queue:jobs', 'GET img:*'])
    expect(report.withoutCommandLog).toEqual(['127.0.0.1:7651'])
    expect(b.received).toEqual([])
  })
})
