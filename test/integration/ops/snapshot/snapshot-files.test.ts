import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Deployment } from '../../../../src/connect/deployment.js'
import type { Topology } from '../../../../src/connect/topology.js'
import { keySlot, RoutedPipeline } from '../../../../src/wire/routed-pipeline.js'
import { inspectSnapshot } from '../../../../src/ops/snapshot/inspect.js'
import { restoreSnapshot } from '../../../../src/ops/snapshot/restore.js'
import { runCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { BIN, fillDataset } from '../../../helpers/snapshot-dataset.js'
import { listpack, rdbFile, str } from '../../../helpers/rdb-craft.js'

/** The same file with its stored CRC-64 wrong. */
const flipCrc = (file: Buffer) => {
  const out = Buffer.from(file)
  out[out.length - 1] ^= 0xff
  return out
}

const fixtures = fileURLToPath(new URL('../../../fixtures/rdb/', import.meta.url))

describe('RDB files from redis-server, and bad files', () => {
  let sb: TestSandbox
  let other: TestSandbox
  let cluster: TestSandbox
  let admin: Redis
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'snap-files-'))

  beforeAll(async () => {
    ;[sb, other, cluster] = await Promise.all([startSandbox(), startSandbox(), startSandbox({ shards: 2 })])
    admin = await sb.admin()
  })
  afterAll(async () => {
    await Promise.all([sb?.down(), other?.down(), cluster?.down()])
  })

  it.each(['redis7-types', 'legacy-v9', 'redis7-lfu', 'redis7-nocompress-nochecksum'])(
    'restores %s (written by redis-server / loaded by it) to the digest the server reported',
    async (name) => {
      const expected = JSON.parse(readFileSync(`${fixtures}${name}.json`, 'utf8'))
      await admin.flushall()
      const deployment = await Deployment.connect({ url: sb.url }, { probe: true })
      try {
        const report = await restoreSnapshot(deployment, `${fixtures}${name}.rdb`, {})
        expect(report.failed).toBe(0)
        if (name === 'redis7-nocompress-nochecksum') expect(report.warnings.join()).toMatch(/no checksum/)
      } finally {
        await deployment.close()
      }
      expect(String(await admin.call('DEBUG', 'DIGEST'))).toBe(
        Object.values(expected.dbs as Record<string, { digest: string }>)[0].digest,
      )
    },
  )

  it('reads, inspects and restores a live BGSAVE with encodings forced by config', async () => {
    await admin.flushall()
    for (const [k, v] of [
      ['list-max-listpack-size', '2'],
      ['list-compress-depth', '1'],
      ['hash-max-listpack-entries', '1'],
      ['zset-max-listpack-entries', '1'],
      ['set-max-intset-entries', '1'],
      ['rdbcompression', 'yes'],
    ])
      await admin.call('CONFIG', 'SET', k, v)
    const keys = await fillDataset(admin, { n: 50 })
    const before = String(await admin.call('LASTSAVE'))
    await admin.call('BGSAVE')
    for (let i = 0; i < 200 && String(await admin.call('LASTSAVE')) === before; i++)
      await new Promise((r) => setTimeout(r, 50))
    const node = sb.state.nodes[0]
    const file = join(dir, 'bgsave.rdb')
    copyFileSync(join(node.dir, 'dump.rdb'), file)
    const report = await inspectSnapshot(file)
    expect(report.totals.keys).toBe(keys)
    expect(report.checksum.status).toBe('ok')
    // hash-max-listpack-entries 1: only the one-field hash stays a listpack
    expect(report.dbs[0].types.hash.encodings).toEqual({ hashtable: 2, listpack: 1 })
    expect(report.dbs[0].types.zset.encodings).toEqual({ skiplist: 2 })
    expect(report.dbs[0].types.set.encodings).toEqual({ hashtable: 3 })
    const digest = String(await admin.call('DEBUG', 'DIGEST'))
    const r = await runCli(['snapshot', 'restore', file, '--to', other.url])
    expect(r.code, r.stderr).toBe(0)
    expect(String(await (await other.admin()).call('DEBUG', 'DIGEST'))).toBe(digest)
  })

  it('a truncated or corrupted file: exit 2 naming the byte offset and what was expected', async () => {
    const good = readFileSync(`${fixtures}legacy-v9.rdb`)
    const truncated = join(dir, 'truncated.rdb')
    writeFileSync(truncated, good.subarray(0, 500))
    const t = await runCli(['snapshot', 'inspect', truncated])
    expect(t.code).toBe(2)
    expect(t.stderr).toMatch(/truncated: it ends inside .* at byte offset 500: expected \d+ more byte/)
    const corrupt = join(dir, 'corrupt.rdb')
    const bad = Buffer.from(good)
    bad[9] = 0xfe
    bad[10] = 0xc5 // SELECTDB with an encoded value where a length must be
    writeFileSync(corrupt, bad)
    const c = await runCli(['snapshot', 'inspect', corrupt, '--json'])
    expect(c.code).toBe(2)
    expect(JSON.parse(c.stdout).error).toMatchObject({ code: 'corrupt', exitCode: 2 })
    expect(c.stderr).toMatch(
      /corrupt RDB: invalid length encoding byte 0xc5 in a SELECTDB number at byte offset 10: expected a length/,
    )
  })

  it('a file whose checksum fails: inspect exits 2; restore restores nothing unless --ignore-checksum', async () => {
    const good = readFileSync(`${fixtures}legacy-v9.rdb`)
    const flipped = Buffer.from(good)
    const at = good.indexOf(Buffer.from('milliseconds'))
    flipped[at] ^= 0x20
    const file = join(dir, 'flipped.rdb')
    writeFileSync(file, flipped)
    const i = await runCli(['snapshot', 'inspect', file])
    expect(i.code).toBe(2)
    expect(i.stderr).toMatch(/CRC-64 checksum does not match/)
    const o = await other.admin()
    await o.flushall()
    const r = await runCli(['snapshot', 'restore', file, '--to', other.url])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/checksum does not match .* nothing was restored/)
    expect(r.stderr).toMatch(/--ignore-checksum/)
    expect(await o.dbsize()).toBe(0)
    const forced = await runCli(['snapshot', 'restore', file, '--to', other.url, '--ignore-checksum'])
    expect(forced.code, forced.stderr).toBe(0)
    expect(await o.get('legacy:expire-ms')).toBe('milliseconds'.replace('m', 'M'))
  })

  it('without a usable checksum, a damaged value stops the restore before anything is sent', async () => {
    // The verification pass skips values by their lengths when the CRC-64 vouches for the file; a
    // file saved with rdbchecksum no (or forced with --ignore-checksum) has every value walked first.
    const damaged = listpack(['field', 'value'])
    damaged.writeUInt32LE(damaged.length + 7, 0) // the listpack's own total-bytes header, wrong
    const entries = [
      { type: 0, key: Buffer.from('first-good-key'), value: str('v') },
      { type: 16, key: Buffer.concat([Buffer.from('damaged:'), BIN]), value: str(damaged) },
    ]
    const o = await other.admin()
    for (const [name, file, flags] of [
      ['unchecked.rdb', rdbFile(11, [{ db: 0, entries }], { checksum: false }), []],
      ['forced.rdb', flipCrc(rdbFile(11, [{ db: 0, entries }])), ['--ignore-checksum']],
    ] as const) {
      const path = join(dir, name)
      writeFileSync(path, file)
      await o.flushall()
      const r = await runCli(['snapshot', 'restore', path, '--to', other.url, ...flags])
      expect(r.code, `${name}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(/listpack/)
      expect(await o.dbsize(), name).toBe(0)
    }
  })

  it('cluster writes follow MOVED (stale slot map) and ASK (a slot being migrated)', async () => {
    const [p1, p2] = cluster.summary.nodes.filter((n) => n.role === 'primary')
    const deployment = await Deployment.connect({ url: cluster.url })
    try {
      // A topology that says the first primary serves every slot: half the writes get MOVED.
      const first = deployment.topology.nodes.find((n) => n.port === p1.port)!
      const stale: Topology = { ...deployment.topology, nodes: [{ ...first, slots: [[0, 16383]] }] }
      const replies: unknown[] = []
      const pipe = new RoutedPipeline<number>({
        spec: deployment.spec,
        topology: stale,
        onReply: (r, i) => (replies[i] = r),
      })
      const keys = Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from(`moved:${i}:`), BIN]))
      keys.forEach((k, i) => {
        const slot = keySlot(k)
        const b = pipe.batchFor(slot)
        b.begin()
        b.header(0x2a, 3)
        b.text('SET')
        b.bulk(k)
        b.text(`v${i}`)
        b.end(i)
        void pipe.written(slot)
      })
      await pipe.flush()
      await pipe.close()
      expect(replies.every((r) => r === 'OK')).toBe(true)
      expect(pipe.redirected).toBeGreaterThan(0)
      const c1 = await cluster.admin(p1.port)
      const c2 = await cluster.admin(p2.port)
      expect((await c1.dbsize()) + (await c2.dbsize())).toBe(200)

      // ASK: a slot of p1 being migrated to p2; a key that is not on p1 goes to p2 with ASKING.
      const key = Buffer.from('ask-me')
      const slot = keySlot(key)
      const owner = (await c1.call('CLUSTER', 'KEYSLOT', key)) as number
      expect(owner).toBe(slot)
      const [src, dst] = slot <= 8191 ? [c1, c2] : [c2, c1]
      const srcId = String(await src.call('CLUSTER', 'MYID'))
      const dstId = String(await dst.call('CLUSTER', 'MYID'))
      await dst.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', srcId)
      await src.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', dstId)
      try {
        const askReplies: unknown[] = []
        const ask = new RoutedPipeline<number>({
          spec: deployment.spec,
          topology: deployment.topology,
          onReply: (r, i) => (askReplies[i] = r),
        })
        const b = ask.batchFor(slot)
        b.begin()
        b.header(0x2a, 3)
        b.text('SET')
        b.bulk(key)
        b.text('asked')
        b.end(0)
        await ask.flush()
        await ask.close()
        expect(askReplies[0]).toBe('OK')
        expect(ask.redirected).toBe(1)
        expect(await dst.call('ASKING').then(() => dst.get(key))).toBe('asked')
      } finally {
        await dst.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', srcId)
        await src.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', srcId)
      }
    } finally {
      await deployment.close()
    }
  })

  it('keys already expired in the file are not restored; with --replace their stale copy on the target goes', async () => {
    const file = join(dir, 'expired.rdb')
    writeFileSync(
      file,
      rdbFile(10, [
        {
          db: 0,
          entries: [
            { type: 0, key: Buffer.from('gone'), value: str('old'), expireMs: 1000 },
            { type: 0, key: Buffer.from('live'), value: str('yes'), expireMs: Date.now() + 3_600_000 },
          ],
        },
      ]),
    )
    await admin.flushall()
    const deployment = await Deployment.connect({ url: sb.url }, { probe: true })
    try {
      const first = await restoreSnapshot(deployment, file, {})
      expect(first).toMatchObject({ keys: 2, restored: 1, expired: 1 })
      expect(await admin.exists('gone')).toBe(0)
      await admin.set('gone', 'stale on the target')
      const replaced = await restoreSnapshot(deployment, file, { replace: true })
      expect(replaced).toMatchObject({ restored: 1, expired: 1 })
      expect(await admin.exists('gone')).toBe(0)
      expect(await admin.pttl('live')).toBeGreaterThan(3_000_000)
    } finally {
      await deployment.close()
    }
  })

  it('leaves no partial file behind when the source cannot be read', async () => {
    const out = join(dir, 'never.rdb')
    const r = await runCli(['snapshot', 'create', 'redis://127.0.0.1:1', '--out', out, '--timeout', '0.5'])
    expect(r.code).toBe(3)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(dir).filter((f) => f.includes('never'))).toEqual([])
  })
})
