import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Capabilities } from '../../../../src/connect/capabilities.js'
import { ChangeSet } from '../../../../src/ops/migrate/change-set.js'
import { loadCheckpoint, saveCheckpoint } from '../../../../src/ops/migrate/checkpoint.js'
import { formatCheckpoint, formatMigration } from '../../../../src/ops/migrate/format.js'
import { notificationsHint } from '../../../../src/ops/migrate/preflight.js'
import { parseSlotRange } from '../../../../src/ops/migrate/slot-range.js'
import type { Checkpoint, MigrateReport } from '../../../../src/ops/migrate/types.js'

const checkpoint = (over: Partial<Checkpoint> = {}): Checkpoint => ({
  kind: 'kvtop-migrate',
  version: 2,
  source: { mode: 'standalone', primaries: ['127.0.0.1:7001', '127.0.0.1:7002'] },
  target: { mode: 'standalone', primaries: ['127.0.0.1:8001'] },
  mode: 'dump',
  dbMap: '',
  live: false,
  startedAt: Date.UTC(2026, 11, 2, 5, 0, 0),
  updatedAt: Date.UTC(2026, 11, 2, 5, 1, 0),
  shards: {
    '127.0.0.1:7001': { address: '127.0.0.1:7001', runId: 'a'.repeat(40), replid: 'b'.repeat(40) },
    '127.0.0.1:7002': { address: '127.0.0.1:7002', runId: 'c'.repeat(40), replid: 'd'.repeat(40) },
  },
  nodes: {
    '127.0.0.1:7001/0': {
      db: 0,
      targetDb: 0,
      cursor: '1234',
      done: false,
      keys: 1500,
      bytes: 2048,
      vanished: 0,
    },
    '127.0.0.1:7002/0': { db: 0, targetDb: 0, cursor: '0', done: true, keys: 2500, bytes: 4096, vanished: 1 },
  },
  liveCopies: 0,
  liveDeletes: 0,
  inSync: false,
  finished: false,
  ...over,
})

describe('migrate: checkpoint file', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kvtop-ckpt-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('round-trips through an atomic 0600 write and leaves no temporary file', async () => {
    const path = join(dir, 'run.ckpt')
    await saveCheckpoint(path, checkpoint())
    await saveCheckpoint(path, checkpoint({ liveCopies: 7 }))
    const back = loadCheckpoint(path)!
    expect(back.nodes).toEqual(checkpoint().nodes)
    expect(back.liveCopies).toBe(7)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['run.ckpt'])
  })

  it('writes racing on the same file land one after another: the file is always one whole state', async () => {
    const path = join(dir, 'race.ckpt')
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => saveCheckpoint(path, checkpoint({ liveCopies: i }))),
    )
    expect(loadCheckpoint(path)!.liveCopies).toBe(19)
    expect(readdirSync(dir)).toEqual(['race.ckpt'])
  })

  it('a missing file means a fresh start; a file that is not a checkpoint is a usage error naming it', () => {
    expect(loadCheckpoint(join(dir, 'none.ckpt'))).toBeUndefined()
    const bad = join(dir, 'bad.ckpt')
    writeFileSync(bad, '{"kind":"something-else"}')
    expect(() => loadCheckpoint(bad)).toThrow(/bad\.ckpt is not a kvtop migrate checkpoint/)
    writeFileSync(bad, '{not json')
    expect(() => loadCheckpoint(bad)).toThrow(/is not a kvtop migrate checkpoint/)
  })

  it('status shows each node: cursor or done, keys and bytes', () => {
    const text = formatCheckpoint(checkpoint())
    expect(text.split('\n')[0]).toBe('in progress: 1 of 2 source nodes done; 4000 keys copied')
    expect(text).toMatch(/127\.0\.0\.1:7001\/0 +cursor 1234 +1500 keys, 2\.0 KiB$/m)
    expect(text).toMatch(/127\.0\.0\.1:7002\/0 +done {13}2500 keys, 4\.0 KiB$/m)
    expect(
      formatCheckpoint(checkpoint({ finished: true, live: true, liveCopies: 3, inSync: true })).split(
        '\n',
      )[0],
    ).toBe('finished; 4000 keys copied; live: 3 re-copied, 0 deleted, in sync')
  })
})

describe('migrate: live change set', () => {
  it('deduplicates byte-exact keys (NUL, CR LF, invalid UTF-8), gives them oldest first, and tracks the oldest age', () => {
    const set = new ChangeSet()
    const a = Buffer.from([0x00, 0x0d, 0x0a, 0xff])
    const b = Buffer.from([0xc3, 0x28])
    const c = Buffer.from([0xc3, 0x29])
    set.add(a, 100)
    set.add(b, 200)
    set.add(Buffer.from(a), 300) // the same bytes again: still one entry, still from 100
    set.add(c, 400)
    expect(set.size).toBe(3)
    expect(set.oldest).toBe(100)
    expect(set.take(2)).toEqual([a, b])
    expect(set.oldest).toBe(400)
    set.add(a, 500) // changed again after it was taken: pending again
    expect(set.take(10)).toEqual([c, a])
    expect(set.size).toBe(0)
    expect(set.oldest).toBe(0)
  })
})

describe('migrate: --slots and hints', () => {
  it('parses A-B within 0-16383 and refuses anything else', () => {
    expect(parseSlotRange('0-8191')).toEqual({ from: 0, to: 8191 })
    expect(parseSlotRange(' 8192-16383 ')).toEqual({ from: 8192, to: 16383 })
    for (const bad of ['9-2', '0-16384', '5', 'a-b', '-1-4'])
      expect(() => parseSlotRange(bad)).toThrow(`invalid --slots '${bad}'`)
  })

  it('says how to turn notifications on where the endpoint lets it, and where it does not', () => {
    const caps = (provider: Capabilities['provider'], refused: string[] = []) =>
      ({ provider, refused }) as unknown as Capabilities
    expect(notificationsHint(caps('elasticache'))).toMatch(/parameter group/)
    expect(notificationsHint(caps('self-managed', ['config']))).toMatch(/refuses CONFIG.*parameter group/)
    expect(notificationsHint(caps('self-managed'))).toMatch(
      /^Enable them with CONFIG SET notify-keyspace-events KEA/,
    )
  })

  it('reports a resumed run with what it copied and what it found already done', () => {
    const report: MigrateReport = {
      resumed: true,
      keys: 60_000,
      copiedThisRun: 21_000,
      bytes: 3 * 1024 * 1024,
      vanished: 0,
      liveCopies: 0,
      liveDeletes: 0,
      inSync: false,
      seconds: 2,
      keysPerSecond: 10_500,
      errors: { total: 0, first: [] },
      cutover: ['Stop writes.', 'Verify.'],
    }
    expect(formatMigration(report).split('\n')).toEqual([
      'Resumed: copied 21.0k more keys, 60.0k in all (3.0 MiB) in 2.0s, 10.5k keys/s',
      '',
      'Cutover:',
      '  1. Stop writes.',
      '  2. Verify.',
    ])
  })
})
