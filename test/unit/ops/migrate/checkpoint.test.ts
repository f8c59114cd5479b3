import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadCheckpoint, saveCheckpoint } from '../../../../src/ops/migrate/checkpoint.js'
import { formatCheckpoint } from '../../../../src/ops/migrate/format.js'
import type { Checkpoint } from '../../../../src/ops/migrate/types.js'

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
