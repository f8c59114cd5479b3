import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectSeededTarget } from '../../../../src/connect/target.js'
import type { Topology } from '../../../../src/connect/topology.js'
import { replay } from '../../../../src/ops/replay/replay.js'
import { resolveReplayInput } from '../../../../src/ops/replay/sources.js'
import { encodeCommand } from '../../../../src/wire/encode.js'
import { keySlot } from '../../../../src/wire/routed-pipeline.js'
import { runCli } from '../../../helpers/cli.js'
import { adminClusterClient, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * Plain commands are sent as the log holds them, many to a write with one shared record per run
 * (no object per command). An error reply anywhere in such a run must still name its own command
 * (number, byte offset, name), count as an error and leave the rest applied; on a cluster, commands
 * sent to the wrong node (MOVED: a stale slot map; ASK: a slot being migrated) land where they
 * belong and their errors are named the same way.
 */

const enc = (...args: (string | Buffer)[]): Buffer => encodeCommand(args)

/** Keys and values no text decoder keeps intact (invalid UTF-8, CR LF, NUL), of varied lengths. */
const key = (i: number) => Buffer.concat([Buffer.from([0xff, 0x0d, 0x0a, 0x00]), Buffer.from(`k${i}`)])
const value = (i: number) =>
  Buffer.concat([
    Buffer.from([0x00, 0xc3, 0x28, 0x0d, 0x0a]),
    Buffer.alloc(i % 50, 0x2a),
    Buffer.from(`${i}`),
  ])

/**
 * A log of `count` commands: SET key(i) value(i), except at the 1-based `errors` positions, where
 * INCRBY key(i) with a non-integer (refused whatever the key holds). Its offsets, and the SETs.
 */
function log(count: number, errors: number[]) {
  const commands: Buffer[] = []
  const offsets: number[] = []
  const sets: number[] = []
  let at = 0
  for (let i = 1; i <= count; i++) {
    const command = errors.includes(i) ? enc('INCRBY', key(i), 'not-a-number') : enc('SET', key(i), value(i))
    if (!errors.includes(i)) sets.push(i)
    commands.push(command)
    offsets.push(at)
    at += command.length
  }
  return { bytes: Buffer.concat(commands), offsets, sets, sizes: commands.map((c) => c.length) }
}

/** The 1-based commands that end a write of about `bytes` (where the replay sends a batch). */
function writeEnds(sizes: number[], bytes: number): number[] {
  const ends: number[] = []
  let used = 0
  sizes.forEach((size, i) => {
    used += size
    if (used >= bytes) {
      ends.push(i + 1)
      used = 0
    }
  })
  return ends
}

async function expectValues(client: Redis | Cluster, sets: number[]): Promise<void> {
  for (const i of sets) expect(await client.getBuffer(key(i)), `key ${i}`).toEqual(value(i))
}

describe('kvtop replay: commands sent as the log holds them, errors named one by one', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvtop-replay-runs-'))
  })

  describe('standalone', () => {
    let target: TestSandbox
    let admin: Redis
    beforeAll(async () => {
      target = await startSandbox({ shards: 0, replicas: 0 })
      admin = await target.admin()
    })
    afterAll(async () => target?.down())

    it('error replies at the first, middle and last commands of writes and of scanned runs: each counted and named, the rest applied', async () => {
      const count = 12_000
      // Where a write ends (about 128 KiB) and where a scan of the log stops (4096 commands).
      const ends = writeEnds(log(count, []).sizes, 128 * 1024)
      const errors = [1, 2, ends[0], ends[0] + 1, 4096, 4097, ends[2] - 1, 8193, count - 1, count]
      expect(new Set(errors).size).toBe(10)
      const { bytes, offsets, sets } = log(count, errors)
      const path = join(dir, 'standalone.resp')
      writeFileSync(path, bytes)
      const r = await runCli(['replay', path, '--to', target.url, '--json'])
      expect(r.code, r.stderr).toBe(5)
      const report = JSON.parse(r.stdout)
      expect(report.commands).toBe(count)
      expect(report.errors.total).toBe(errors.length)
      expect(report.errors.byKind).toEqual({ ERR: errors.length })
      expect(
        report.errors.first.map((e: { number: number; offset: number; command: string }) => [
          e.number,
          e.offset,
          e.command,
        ]),
      ).toEqual(errors.map((n) => [n, offsets[n - 1], 'incrby']))
      expect(report.errors.first[0].message).toBe('ERR value is not an integer or out of range')
      expect(await admin.dbsize()).toBe(sets.length)
      await expectValues(admin, sets)
    })

    it('an AOF with #TS annotations: --until stops at the first command recorded after it, naming its offset', async () => {
      await admin.flushall()
      const before = [1, 2, 3].map((i) => enc('SET', key(i), value(i)))
      const after = [4, 5].map((i) => enc('SET', key(i), value(i)))
      const head = Buffer.concat([
        Buffer.from('#TS:1700000000\r\n'),
        ...before,
        Buffer.from('#TS:1700000010\r\n'),
      ])
      const path = join(dir, 'until.aof')
      writeFileSync(path, Buffer.concat([head, ...after]))
      const r = await runCli(['replay', path, '--to', target.url, '--until', '1700000005', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report.commands).toBe(3)
      expect(report.stoppedAt).toMatchObject({
        offset: head.length,
        reason: expect.stringContaining('--until'),
      })
      await expectValues(admin, [1, 2, 3])
      expect(await admin.exists(key(4))).toBe(0)
    })

    it('--stop-on-error stops at an error in the middle of a run: that command is named, the ones before it applied', async () => {
      await admin.flushall()
      const { bytes, offsets } = log(3000, [1500])
      const path = join(dir, 'stop.resp')
      writeFileSync(path, bytes)
      const r = await runCli(['replay', path, '--to', target.url, '--stop-on-error', '--json'])
      expect(r.code, r.stderr).toBe(5)
      const report = JSON.parse(r.stdout)
      expect(report.errors.first).toMatchObject([{ number: 1500, offset: offsets[1499], command: 'incrby' }])
      for (let i = 1; i < 1500; i++) expect(await admin.exists(key(i)), `key ${i}`).toBe(1)
    })
  })

  describe('3-shard cluster', () => {
    let cluster: TestSandbox
    let client: Cluster
    beforeAll(async () => {
      cluster = await startSandbox({ shards: 3, replicas: 0 })
      client = adminClusterClient(cluster)
    })
    afterAll(async () => {
      client?.disconnect()
      await cluster?.down()
    })

    it('MOVED (a stale slot map) and ASK (a slot being migrated): every command lands on its owner, errors named by number and offset', async () => {
      const count = 6000
      const errors = [1, 700, 701, 2048, 4096, 4097, 5999, 6000]
      const { bytes, offsets, sets } = log(count, errors)
      const path = join(dir, 'cluster.resp')
      writeFileSync(path, bytes)

      const primaries = cluster.summary.nodes.filter((n) => n.role === 'primary')
      const admins = await Promise.all(primaries.map((p) => cluster.admin(p.port)))
      const ids = await Promise.all(admins.map(async (a) => String(await a.call('CLUSTER', 'MYID'))))
      // ASK: the slot of key(3) is being migrated from its owner to another primary; the key is not
      // on the owner, so the owner answers ASK and the importer takes it after ASKING.
      const askSlot = keySlot(key(3))
      const ownerIndex = await (async () => {
        for (let i = 0; i < admins.length; i++) {
          const ranges = (await admins[i].call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
          if (
            ranges.some(
              ([from, to, [, port]]) => port === primaries[i].port && askSlot >= from && askSlot <= to,
            )
          )
            return i
        }
        throw new Error(`no owner for slot ${askSlot}`)
      })()
      const importerIndex = (ownerIndex + 1) % admins.length
      await admins[importerIndex].call('CLUSTER', 'SETSLOT', String(askSlot), 'IMPORTING', ids[ownerIndex])
      await admins[ownerIndex].call('CLUSTER', 'SETSLOT', String(askSlot), 'MIGRATING', ids[importerIndex])

      const target = await connectSeededTarget({ url: cluster.url })
      try {
        // MOVED: a slot map that says the first primary serves every slot.
        const first = target.topology.nodes.find((n) => n.port === primaries[0].port)!
        const topology: Topology = { ...target.topology, nodes: [{ ...first, slots: [[0, 16383]] }] }
        const stale = { ...target, topology, primaries: topology.nodes }
        const report = await replay(resolveReplayInput(path), stale, {
          speed: 'max',
          dbMap: new Map(),
          stopOnError: false,
          skipTruncatedTail: false,
        })
        expect(report.commands).toBe(count)
        expect(report.errors.total).toBe(errors.length)
        // Listed as their replies came: a redirected command's comes after those sent straight.
        const named = report.errors.first.map((e) => [e.number, e.offset, e.command] as const)
        expect([...named].sort((a, b) => a[0] - b[0])).toEqual(
          errors.map((n) => [n, offsets[n - 1], 'incrby']),
        )
        // The ASKed key went to the importer, not to its (migrating) owner.
        expect(await admins[ownerIndex].call('CLUSTER', 'COUNTKEYSINSLOT', String(askSlot))).toBe(0)
        expect(
          await admins[importerIndex].call('ASKING').then(() => admins[importerIndex].getBuffer(key(3))),
        ).toEqual(value(3))
      } finally {
        target.seed.close()
        for (const a of admins) await a.call('CLUSTER', 'SETSLOT', String(askSlot), 'NODE', ids[ownerIndex])
      }
      // Every other key on its owner (the cluster client follows the slot map), byte for byte; the
      // ASKed slot's keys stay on the importer, which no longer serves that slot.
      const sizes = await Promise.all(admins.map((a) => a.dbsize()))
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(sets.length)
      expect(sizes.every((n) => n > 0)).toBe(true)
      await expectValues(
        client,
        sets.filter((i) => keySlot(key(i)) !== askSlot),
      )
    })
  })
})
