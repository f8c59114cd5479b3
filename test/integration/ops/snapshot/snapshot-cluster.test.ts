import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { digestsByKey } from '../../../helpers/dataset.js'
import { serverFromRdb } from '../../../helpers/rdb-server.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { fillDataset, finalJson } from '../../../helpers/snapshot-dataset.js'

const fixtures = fileURLToPath(new URL('../../../fixtures/rdb/', import.meta.url))

describe('snapshots of a 3-shard cluster and of an ElastiCache-like endpoint', () => {
  let cluster: TestSandbox
  let target: TestSandbox
  let managed: TestSandbox
  let sourcePrimaries: Redis[]
  let sourceDigests: Map<string, string>
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'snap-cluster-'))

  beforeAll(async () => {
    ;[cluster, target, managed] = await Promise.all([
      startSandbox({ shards: 3 }),
      startSandbox({ shards: 3 }),
      startSandbox({ flavor: 'elasticache' }),
    ])
    const c = new Cluster(
      cluster.summary.nodes
        .filter((n) => n.role === 'primary')
        .map((n) => ({ host: '127.0.0.1', port: n.port })),
    )
    try {
      await fillDataset(c, { n: 300 })
    } finally {
      c.disconnect()
    }
    sourcePrimaries = await Promise.all(
      cluster.summary.nodes.filter((n) => n.role === 'primary').map((n) => cluster.admin(n.port)),
    )
    sourceDigests = await digestsByKey(sourcePrimaries)
    await fillDataset(await managed.client())
  })
  afterAll(async () => {
    await Promise.all([cluster?.down(), target?.down(), managed?.down()])
  })

  it('create: every shard into one db-0 file, equal key by key once loaded; --split 2 by slot range', async () => {
    const file = join(dir, 'cluster.rdb')
    const r = await runCli(['snapshot', 'create', cluster.url, '--out', file, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const report = finalJson(r.stdout)
    expect(report.source.primaries).toHaveLength(3)
    expect(report.dbs).toEqual([{ db: 0, keys: sourceDigests.size }])
    // progress events went out as NDJSON on stderr
    expect(r.stderr).toMatch(/^\{"type":"(progress|phase)".*"at":\d+/m)
    const fresh = await serverFromRdb(file)
    try {
      expect(await digestsByKey([fresh.client])).toEqual(sourceDigests)
    } finally {
      await fresh.stop()
    }
    // --method sync: each primary's replication snapshot, merged into one file.
    for (const p of sourcePrimaries) await p.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
    const syncFile = join(dir, 'cluster-sync.rdb')
    const sync = await runCli(['snapshot', 'create', cluster.url, '--out', syncFile, '--method', 'sync'])
    expect(sync.code, sync.stderr).toBe(0)
    const fromSync = await serverFromRdb(syncFile)
    try {
      expect(await digestsByKey([fromSync.client])).toEqual(sourceDigests)
    } finally {
      await fromSync.stop()
    }
    const split = await runCli([
      'snapshot',
      'create',
      cluster.url,
      '--out',
      join(dir, 'part.rdb'),
      '--split',
      '2',
      '--json',
    ])
    expect(split.code, split.stderr).toBe(0)
    const files = finalJson(split.stdout).files
    expect(files.map((f: { path: string }) => f.path.replace(dir, ''))).toEqual([
      '/part-0001.rdb',
      '/part-0002.rdb',
    ])
    expect(files.map((f: { slots: number[] }) => f.slots)).toEqual([
      [0, 8191],
      [8192, 16383],
    ])
    expect(files[0].keys + files[1].keys).toBe(sourceDigests.size)
  })

  it('--method sync asks every primary at once: all three wait out their repl-diskless-sync-delay together', async () => {
    // Each primary answers SYNC only when its snapshot starts, after the delay: asked one after the
    // other (as it was), never more than one of them held kvtop's SYNC at a time, and N shards took
    // N delays.
    for (const p of sourcePrimaries) await p.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '3')
    try {
      const file = join(dir, 'cluster-sync-together.rdb')
      const run = runCli(['snapshot', 'create', cluster.url, '--out', file, '--method', 'sync'])
      let most = 0
      let finished = false
      void run.finally(() => (finished = true))
      while (!finished) {
        const waiting = await Promise.all(
          sourcePrimaries.map(async (p) =>
            String(await p.call('CLIENT', 'LIST', 'TYPE', 'replica')).includes('cmd=sync'),
          ),
        )
        most = Math.max(most, waiting.filter(Boolean).length)
        await new Promise((r) => setTimeout(r, 100))
      }
      const r = await run
      expect(r.code, r.stderr).toBe(0)
      expect(most).toBe(3)
      const fresh = await serverFromRdb(file)
      try {
        expect(await digestsByKey([fresh.client])).toEqual(sourceDigests)
      } finally {
        await fresh.stop()
      }
    } finally {
      for (const p of sourcePrimaries) await p.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
    }
  })

  it('restore into another cluster: equal key by key; a file with another db is refused unless mapped', async () => {
    const r = await runCli(['snapshot', 'restore', join(dir, 'cluster.rdb'), '--to', target.url])
    expect(r.code, r.stderr).toBe(0)
    const targetPrimaries = await Promise.all(
      target.summary.nodes.filter((n) => n.role === 'primary').map((n) => target.admin(n.port)),
    )
    expect(await digestsByKey(targetPrimaries)).toEqual(sourceDigests)
    // redis7-types.rdb holds keys in db 0 and db 3
    await Promise.all(targetPrimaries.map((p) => p.flushall()))
    const refused = await runCli(['snapshot', 'restore', `${fixtures}redis7-types.rdb`, '--to', target.url])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/holds only db 0, but the file has keys in db 3 \(2 keys\)/)
    expect(refused.stderr).toMatch(/--db-map 3:0/)
    expect((await digestsByKey(targetPrimaries)).size).toBe(0)
    const mapped = await runCli([
      'snapshot',
      'restore',
      `${fixtures}redis7-types.rdb`,
      '--to',
      target.url,
      '--db-map',
      '3:0',
    ])
    expect(mapped.code, mapped.stderr).toBe(0)
    expect((await digestsByKey(targetPrimaries)).size).toBe(31)
  })

  it('elasticache flavor: scan works where SYNC is refused; --method sync names the refusal', async () => {
    const file = join(dir, 'managed.rdb')
    const r = await runCli(['snapshot', 'create', managed.url, '--out', file])
    expect(r.code, r.stderr).toBe(0)
    const admin = await managed.admin()
    const fresh = await serverFromRdb(file)
    try {
      expect(await fresh.client.call('DEBUG', 'DIGEST')).toBe(await admin.call('DEBUG', 'DIGEST'))
    } finally {
      await fresh.stop()
    }
    const sync = await runCli([
      'snapshot',
      'create',
      managed.url,
      '--out',
      join(dir, 'sync.rdb'),
      '--method',
      'sync',
    ])
    expect(sync.code).toBe(2)
    expect(sync.stderr).toMatch(/refuses SYNC/)
    expect(sync.stderr).toMatch(/--method scan/)
  })
  it('refuses while a slot moves between two nodes other than the one it connected to (each shows it only in its own line)', async () => {
    const primaries = cluster.summary.nodes.filter((n) => n.role === 'primary')
    const [, second, third] = await Promise.all(primaries.map((n) => cluster.admin(n.port)))
    const idOf = async (c: Redis) => String(await c.call('CLUSTER', 'MYID'))
    const slot = Number(
      String(await second.call('CLUSTER', 'NODES'))
        .split('\n')
        .find((l) => l.includes('myself'))!
        .split(' ')[8]
        .split('-')[0],
    )
    await third.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', await idOf(second))
    await second.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', await idOf(third))
    try {
      const r = await runCli(['snapshot', 'create', cluster.url, '--out', join(dir, 'moving.rdb')])
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toContain(
        `slot ${slot} migrating from 127.0.0.1:${primaries[1].port} to 127.0.0.1:${primaries[2].port}`,
      )
      expect(r.stderr).toMatch(/a snapshot now could miss keys/)
    } finally {
      await third.call('CLUSTER', 'SETSLOT', slot, 'STABLE')
      await second.call('CLUSTER', 'SETSLOT', slot, 'STABLE')
    }
  })
})
