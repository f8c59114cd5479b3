import { afterEach, describe, expect, it } from 'vitest'
import { MonitorEngine } from '../../../src/metrics/engine.js'
import { formatNodeTable } from '../../../src/metrics/format.js'
import { parseInfoSections } from '../../../src/redis/info.js'
import { parseNodeInfo, toNodeInfo } from '../../../src/metrics/node-info.js'
import { nodeRates } from '../../../src/metrics/rates.js'
import { FakeNode, replicatedSet, topologyOf } from './fake-node.js'
import { fixture } from './fixtures.js'

const VALKEY = 'info/valkey-8.0-cluster-primary.txt'

/** The fixture with some of its lines replaced (`key:value`). */
function valkeyInfo(replace: Record<string, string> = {}): string {
  let text = fixture(VALKEY)
  for (const [key, value] of Object.entries(replace))
    text = text.replace(new RegExp(`^${key}:.*$`, 'm'), `${key}:${value}`)
  return text
}

describe('Valkey 8 figures: availability zone and I/O threads', () => {
  it('reads io_threads_active, the io_threaded_* counters and an unset availability_zone from the Valkey 8 fixture', () => {
    const n = parseNodeInfo(fixture(VALKEY), 'h')
    expect(n.server.ioThreadsActive).toBe(true)
    // `availability_zone:` with nothing after it: the setting is not set.
    expect(n.server.availabilityZone).toBeUndefined()
    expect(n.stats).toMatchObject({
      ioThreadedReadsProcessed: 1500000000,
      ioThreadedWritesProcessed: 1400000000,
      ioThreadedFreedObjects: 0,
      ioThreadedPollProcessed: 100000,
      ioThreadedPrefetchBatches: 0,
      ioThreadedPrefetchEntries: 0,
    })
    expect(n).toEqual(toNodeInfo(parseInfoSections(fixture(VALKEY)), 'h'))
  })

  it('reads a configured availability zone; Redis 7.0 has io_threads_active but none of the Valkey counters', () => {
    expect(parseNodeInfo(valkeyInfo({ availability_zone: 'us-east-1a' })).server.availabilityZone).toBe(
      'us-east-1a',
    )
    const redis = parseNodeInfo(fixture('info/redis-7.0-cluster-primary.txt'))
    expect(redis.server.availabilityZone).toBeUndefined()
    expect(redis.stats.ioThreadedPollProcessed).toBeUndefined()
    expect(redis.stats.ioThreadedPrefetchBatches).toBeUndefined()
  })

  it('turns the io_threaded_* counters into rates over the interval', () => {
    const prev = parseNodeInfo(valkeyInfo())
    const cur = parseNodeInfo(
      valkeyInfo({
        uptime_in_seconds: '172802',
        io_threaded_reads_processed: '1500002000',
        io_threaded_writes_processed: '1400001000',
        io_threaded_poll_processed: '100400',
        io_threaded_total_prefetch_batches: '50',
        io_threaded_total_prefetch_entries: '700',
      }),
    )
    expect(nodeRates({ prev, cur, seconds: 2 }).ioThreads).toEqual({
      readsPerSec: 1000,
      writesPerSec: 500,
      freedObjectsPerSec: 0,
      pollsPerSec: 200,
      prefetchBatchesPerSec: 25,
      prefetchEntriesPerSec: 350,
    })
  })
})

/** A simulated node that answers INFO like Valkey 8 with io-threads and an availability zone. */
class ValkeyNode extends FakeNode {
  constructor(
    port: number,
    private readonly az: string | undefined,
    private readonly threaded: { active: boolean; reads: number },
  ) {
    super(port)
  }

  override info(): string {
    const extra = [
      'server_name:valkey',
      'valkey_version:8.0.1',
      `io_threads_active:${this.threaded.active ? 1 : 0}`,
      `availability_zone:${this.az ?? ''}`,
    ]
    return super
      .info()
      .replace('# Server\r\n', `# Server\r\n${extra.join('\r\n')}\r\n`)
      .replace('# Server\n', `# Server\n${extra.join('\n')}\n`)
      .replace(
        /# Stats(\r?\n)/,
        (m, eol: string) => `${m}io_threaded_reads_processed:${this.threaded.reads}${eol}`,
      )
  }
}

const engines: MonitorEngine[] = []
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()))
})

describe('status per node', () => {
  it('carries availabilityZone and ioThreads (active, rates) in status JSON, and AZ / IO THREADS columns in the table', async () => {
    const threaded = { active: true, reads: 1000 }
    const nodes = [
      new ValkeyNode(7400, 'use1-az1', threaded),
      new ValkeyNode(7401, undefined, { active: false, reads: 0 }),
    ]
    const shaped = replicatedSet([7400, 7401])
    nodes[1].role = shaped[1].role
    nodes[1].masterHost = shaped[1].masterHost
    nodes[1].masterPort = shaped[1].masterPort
    nodes[0].replicas = shaped[0].replicas
    const byPort = new Map<number, FakeNode>(nodes.map((n) => [n.port, n]))
    const engine = new MonitorEngine(undefined, topologyOf(nodes), {
      intervalMs: 200,
      timeoutMs: 150,
      connect: async ({ port }) => byPort.get(port)!.connection(),
    })
    engines.push(engine)
    await engine.poll()
    threaded.reads += 500
    const snap = await engine.poll()
    const [p, r] = snap.nodes
    expect(p).toMatchObject({ engine: 'valkey', availabilityZone: 'use1-az1', ioThreads: { active: true } })
    expect(p.ioThreads!.readsPerSec).toBeGreaterThan(0)
    expect(r.availabilityZone).toBeUndefined()
    expect(r.ioThreads).toMatchObject({ active: false })
    const table = formatNodeTable(snap.nodes)
    const [header, first, second] = table.split('\n')
    expect(header).toMatch(/\bAZ\b.*\bIO THREADS\b/)
    expect(first).toMatch(/use1-az1 .* on \S+ io\/s/)
    expect(second).toMatch(/ - .* off /)
  })

  it('leaves both columns out when no node has a zone or busy I/O threads', () => {
    const table = formatNodeTable([
      {
        id: 'a',
        host: '127.0.0.1',
        port: 1,
        address: '127.0.0.1:1',
        role: 'primary',
        shard: 0,
        slots: [],
        up: true,
        health: 'online',
        state: 'ok',
        topCommands: [],
        memory: {},
        clients: {},
        ioThreads: { active: false },
      },
    ])
    expect(table).not.toMatch(/AZ|IO THREADS/)
  })
})
