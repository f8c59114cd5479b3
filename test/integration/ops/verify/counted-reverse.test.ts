import { execFileSync } from 'node:child_process'
import type { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ProgressEvent } from '../../../../src/ops/events.js'
import type { VerifyOptions } from '../../../../src/ops/verify/types.js'
import type { verifyDatasets } from '../../../../src/ops/verify/verify.js'
import { verifySandboxes } from './verify-sandboxes.js'
import { adminClusterClient, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * The reverse direction (target keys the source lacks) is settled without scanning the target when
 * the forward pass found every source key on it, both dbs hold as many keys, and neither side's
 * change counters moved: the target then has room for no other key. Every way that reasoning could
 * go wrong must still find the extra key: counts that differ, a key missing on one side and an
 * extra one on the other, counts that match again at the end after a change during the run, two
 * source dbs onto one target db, a cluster target.
 */
const BIN = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xc3, 0x28])
const k = (i: number | string) => Buffer.concat([Buffer.from(`c:${i}:`), BIN])
const EXTRA = Buffer.concat([Buffer.from('extra\r\n'), BIN])
const KEYS = 3000

async function fill(r: Redis | Cluster, db = 0): Promise<void> {
  const p = r.pipeline()
  if (db) p.select(db)
  for (let i = 0; i < KEYS; i++) {
    if (i % 10 === 0) p.hset(k(i), 'f', BIN, 'g', String(i))
    else p.set(k(i), Buffer.concat([BIN, Buffer.from(String(i))]))
  }
  if (db) p.select(0)
  await p.exec()
}

/** SCAN calls each node of a sandbox answered since the last `resetStats`. */
async function scans(nodes: Redis[]): Promise<number> {
  let n = 0
  for (const r of nodes) n += Number(/cmdstat_scan:calls=(\d+)/.exec(await r.info('commandstats'))?.[1] ?? 0)
  return n
}

const resetStats = (nodes: Redis[]) => Promise.all(nodes.map((r) => r.config('RESETSTAT')))

/** The keys reported in a category, as hex. */
const reported = (r: Awaited<ReturnType<typeof verifyDatasets>>, category: string) =>
  r.examples
    .filter((d) => d.category === category)
    .map((d) => d.keyHex)
    .sort()

describe('verify: the reverse direction settled by the counts, standalone on both sides', () => {
  let source: TestSandbox
  let target: TestSandbox
  let src: Redis
  let tgt: Redis

  beforeAll(async () => {
    ;[source, target] = await Promise.all([startSandbox(), startSandbox()])
    src = await source.admin()
    tgt = await target.admin()
  }, 120_000)

  beforeEach(async () => {
    await Promise.all([src.flushall(), tgt.flushall()])
    await Promise.all([fill(src), fill(tgt)])
    await resetStats([src, tgt])
  })

  afterAll(async () => {
    await Promise.all([source?.down(), target?.down()])
  })

  it('identical datasets: the target is not scanned, its keys are counted', async () => {
    const r = await verifySandboxes(source, target)
    expect(r).toMatchObject({ identical: true, sourceKeys: KEYS, targetKeys: KEYS })
    expect(await scans([tgt])).toBe(0)
    expect(await scans([src])).toBeGreaterThan(0)
  })

  it('one key more on the target only: the counts differ, the target is scanned, the key found', async () => {
    await tgt.set(EXTRA, 'x')
    const r = await verifySandboxes(source, target)
    expect(r.identical).toBe(false)
    expect(r.counts).toMatchObject({ 'missing-in-source': 1, 'missing-in-target': 0, value: 0, ttl: 0 })
    expect(reported(r, 'missing-in-source')).toEqual([EXTRA.toString('hex')])
    expect(await scans([tgt])).toBeGreaterThan(0)
  })

  it('a source key replaced by another on the target (equal counts): both found', async () => {
    await tgt.del(k(17))
    await tgt.set(EXTRA, 'x')
    const r = await verifySandboxes(source, target)
    expect(r.counts).toMatchObject({ 'missing-in-source': 1, 'missing-in-target': 1, value: 0 })
    expect(reported(r, 'missing-in-source')).toEqual([EXTRA.toString('hex')])
    expect(reported(r, 'missing-in-target')).toEqual([k(17).toString('hex')])
  })

  it('a change during the run that leaves the counts equal at both ends: the target is scanned, the extra key found', async () => {
    // The source holds one key the target lacks, the target one the source lacks: equal counts.
    await src.set('gone-for-a-while', 'v')
    await tgt.set(EXTRA, 'x')
    const port = source.summary.nodes[0].port
    const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args])
    let putBack = false
    const onEvent: VerifyOptions['onEvent'] = (event) => {
      // After the counts were read, before the source is scanned: the key leaves the source ...
      if (event.type === 'phase' && event.phase === 'compare') cli('DEL', 'gone-for-a-while')
      // ... and comes back once every source key was compared: the counts match again at the end.
      const p = event as ProgressEvent
      if (p.type === 'progress' && p.task === 'source -> target' && p.done === KEYS && !putBack) {
        putBack = true
        cli('SET', 'gone-for-a-while', 'v')
      }
    }
    const r = await verifySandboxes(source, target, { onEvent })
    expect(putBack).toBe(true)
    expect(await src.dbsize()).toBe(await tgt.dbsize())
    expect(r.counts).toMatchObject({ 'missing-in-source': 1, 'missing-in-target': 0 })
    expect(reported(r, 'missing-in-source')).toEqual([EXTRA.toString('hex')])
  })

  it('a source key hidden from the scan but still counted (expired on a paused server): the extra key found', async () => {
    // Equal counts: the source's expired key is counted by INFO until deleted, and a paused server
    // deletes none (nor counts it expired): SCAN skips it, the counters stay still.
    await src.set('expired-while-paused', 'v', 'PX', 50)
    await tgt.set(EXTRA, 'x')
    await src.call('CLIENT', 'PAUSE', '30000', 'WRITE')
    try {
      await new Promise((r) => setTimeout(r, 100))
      const r = await verifySandboxes(source, target)
      expect(r.counts).toMatchObject({ 'missing-in-source': 1, 'missing-in-target': 0 })
      expect(reported(r, 'missing-in-source')).toEqual([EXTRA.toString('hex')])
    } finally {
      await src.call('CLIENT', 'UNPAUSE')
    }
  })

  it('two source dbs onto one target db (the same key in both): the target is scanned, the extra key found', async () => {
    // Source db 1 holds a key db 0 has too: together as many keys as the target's db 0, one of them extra.
    await src.select(1)
    await src.set(k(5), Buffer.concat([BIN, Buffer.from('5')]))
    await src.select(0)
    await tgt.set(EXTRA, 'x')
    const r = await verifySandboxes(source, target, { dbMap: new Map([[1, 0]]) })
    expect(reported(r, 'missing-in-source')).toEqual([EXTRA.toString('hex')])
    await src.select(1)
    await src.flushdb()
    await src.select(0)
  })
})

describe('verify: the reverse direction settled by the counts, a cluster target', () => {
  let source: TestSandbox
  let target: TestSandbox
  let src: Redis
  let tgt: Cluster
  let primaries: Redis[]

  beforeAll(async () => {
    ;[source, target] = await Promise.all([startSandbox(), startSandbox({ shards: 3, replicas: 0 })])
    src = await source.admin()
    tgt = adminClusterClient(target)
    primaries = await Promise.all(
      target.summary.nodes.filter((n) => n.role === 'primary').map((n) => target.admin(n.port)),
    )
    await fill(src)
    for (let i = 0; i < KEYS; i++) {
      if (i % 10 === 0) await tgt.hset(k(i), 'f', BIN, 'g', String(i))
      else await tgt.set(k(i), Buffer.concat([BIN, Buffer.from(String(i))]))
    }
  }, 180_000)

  afterAll(async () => {
    tgt?.disconnect()
    await Promise.all([source?.down(), target?.down()])
  })

  it('identical: no primary of the target is scanned; one key more on one shard: scanned and found', async () => {
    await resetStats(primaries)
    const same = await verifySandboxes(source, target)
    expect(same).toMatchObject({ identical: true, sourceKeys: KEYS, targetKeys: KEYS })
    expect(await scans(primaries)).toBe(0)

    await tgt.set(EXTRA, 'x')
    const r = await verifySandboxes(source, target)
    expect(r.counts).toMatchObject({ 'missing-in-source': 1, 'missing-in-target': 0, value: 0 })
    expect(reported(r, 'missing-in-source')).toEqual([EXTRA.toString('hex')])
    expect(await scans(primaries)).toBeGreaterThan(0)
  })
})
