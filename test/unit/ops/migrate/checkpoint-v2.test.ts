import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  checkResumeDeployments,
  checkResumeOptions,
  dbMapText,
  loadCheckpoint,
  lockCheckpoint,
  restartChangedShards,
  sameDeployment,
  saveCheckpoint,
  slotsKey,
} from '../../../../src/ops/migrate/checkpoint.js'
import { formatCheckpoint } from '../../../../src/ops/migrate/format.js'
import type { Checkpoint, NodeCheckpoint } from '../../../../src/ops/migrate/types.js'

const progress = (over: Partial<NodeCheckpoint> = {}): NodeCheckpoint => ({
  db: 0,
  targetDb: 0,
  cursor: '1234',
  done: false,
  keys: 1500,
  bytes: 2048,
  vanished: 1,
  ...over,
})

const id = (address: string, runId: string, replid = `r-${runId}`) => ({ address, runId, replid })

const clusterCheckpoint = (): Checkpoint => ({
  kind: 'kvtop-migrate',
  version: 2,
  source: {
    mode: 'cluster',
    primaries: ['10.0.0.1:7000', '10.0.0.2:7000'],
    nodeIds: ['a1', 'a2', 'b1', 'b2'],
  },
  target: { mode: 'cluster', primaries: ['10.0.1.1:7000'], nodeIds: ['t1', 't2'] },
  mode: 'dump',
  dbMap: '',
  live: false,
  startedAt: 0,
  updatedAt: 0,
  shards: { '0-8191': id('10.0.0.1:7000', 'run-a'), '8192-16383': id('10.0.0.2:7000', 'run-b') },
  nodes: { '0-8191/0': progress(), '8192-16383/0': progress({ done: true, cursor: '0', keys: 4000 }) },
  liveCopies: 0,
  liveDeletes: 0,
  inSync: false,
  finished: false,
})

describe('migrate checkpoint v2: shards keyed by slots, server processes recorded', () => {
  it('keys a cluster shard by its slot ranges, in order, single slots bare', () => {
    expect(
      slotsKey([
        [200, 300],
        [0, 99],
        [150, 150],
      ]),
    ).toBe('0-99,150,200-300')
  })

  it('a shard whose primary is another process (restart behind the same address, or failover) starts over at cursor 0; the others keep their cursor', () => {
    const c = clusterCheckpoint()
    const restarted = restartChangedShards(c, {
      '0-8191': id('10.0.0.1:7000', 'run-a2'), // restarted: same address, new run_id
      '8192-16383': id('10.0.0.2:7000', 'run-b'),
    })
    expect(restarted).toEqual([{ key: '0-8191', address: '10.0.0.1:7000', reason: 'run_id run-a -> run-a2' }])
    expect(c.nodes['0-8191/0']).toMatchObject({ cursor: '0', done: false, keys: 0, bytes: 0, vanished: 0 })
    expect(c.nodes['8192-16383/0']).toMatchObject({ cursor: '0', done: true, keys: 4000 })
    expect(c.shards['0-8191'].runId).toBe('run-a2')

    const failedOver = clusterCheckpoint()
    const r = restartChangedShards(failedOver, {
      '0-8191': id('10.0.0.1:7000', 'run-a'),
      '8192-16383': id('10.0.0.3:7000', 'run-c'), // its replica took over
    })
    expect(r).toEqual([
      { key: '8192-16383', address: '10.0.0.3:7000', reason: 'primary 10.0.0.2:7000 -> 10.0.0.3:7000' },
    ])
    expect(failedOver.nodes['8192-16383/0']).toMatchObject({ cursor: '0', done: false, keys: 0 })
    expect(failedOver.nodes['0-8191/0']).toMatchObject({ cursor: '1234', keys: 1500 })
  })

  it('a replication id change alone (same run_id) also restarts, and a new layout drops the old entries', () => {
    const c = clusterCheckpoint()
    expect(
      restartChangedShards(c, {
        '0-8191': id('10.0.0.1:7000', 'run-a', 'other'),
        '8192-16383': id('10.0.0.2:7000', 'run-b'),
      }).map((r) => r.key),
    ).toEqual(['0-8191'])
    const moved = clusterCheckpoint()
    restartChangedShards(
      moved,
      { '0-41,43-8191': id('10.0.0.1:7000', 'run-a'), '42,8192-16383': id('10.0.0.2:7000', 'run-b') },
      { dropMissing: true },
    )
    expect(Object.keys(moved.shards).sort()).toEqual(['0-41,43-8191', '42,8192-16383'])
    expect(moved.nodes).toEqual({})
  })

  it('a failover keeps the cluster (node ids shared); another cluster or another slot layout is refused', () => {
    const c = clusterCheckpoint()
    const now = {
      source: {
        mode: 'cluster' as const,
        primaries: ['10.0.0.1:7000', '10.0.0.3:7000'],
        nodeIds: ['a1', 'a2', 'b1', 'b2'],
      },
      target: { mode: 'cluster' as const, primaries: ['10.0.1.9:7000'], nodeIds: ['t1', 't2'] },
      shardKeys: ['0-8191', '8192-16383'],
    }
    expect(() => checkResumeDeployments('c.ckpt', c, now)).not.toThrow()
    expect(() =>
      checkResumeDeployments('c.ckpt', c, { ...now, source: { ...now.source, nodeIds: ['x', 'y'] } }),
    ).toThrow(/the checkpoint c\.ckpt is for another source/)
    expect(() =>
      checkResumeDeployments('c.ckpt', c, { ...now, target: { ...now.target, nodeIds: ['z'] } }),
    ).toThrow(/is for another target/)
    expect(() =>
      checkResumeDeployments('c.ckpt', c, { ...now, shardKeys: ['0-5460', '5461-16383'] }),
    ).toThrow(
      /slot layout changed since the checkpoint c\.ckpt was written: it records shards with slots 0-8191 \| 8192-16383, the source now has 0-5460 \| 5461-16383/,
    )
  })

  it('a standalone source is its address, or the promoted replica that carries its replication id', () => {
    const recorded = { mode: 'replicated' as const, primaries: ['10.0.0.1:6379'], replid: 'R1' }
    expect(sameDeployment(recorded, { mode: 'standalone', primaries: ['10.0.0.1:6379'], replid: 'R9' })).toBe(
      true,
    )
    expect(
      sameDeployment(recorded, {
        mode: 'replicated',
        primaries: ['10.0.0.2:6379'],
        replid: 'R2',
        replid2: 'R1',
      }),
    ).toBe(true)
    expect(
      sameDeployment(recorded, {
        mode: 'standalone',
        primaries: ['10.0.0.2:6379'],
        replid: 'R2',
        replid2: 'R3',
      }),
    ).toBe(false)
    expect(sameDeployment(recorded, { mode: 'cluster', primaries: ['10.0.0.1:6379'], nodeIds: [] })).toBe(
      false,
    )

    const c: Checkpoint = {
      ...clusterCheckpoint(),
      source: recorded,
      shards: { '10.0.0.1:6379': id('10.0.0.1:6379', 'run-a', 'R1') },
      nodes: { '10.0.0.1:6379/0': progress(), '10.0.0.1:6379/3': progress({ db: 3 }) },
      target: { mode: 'standalone', primaries: ['10.0.1.1:6379'], replid: 'T' },
    }
    checkResumeDeployments('s.ckpt', c, {
      source: { mode: 'replicated', primaries: ['10.0.0.2:6379'], replid: 'R2', replid2: 'R1' },
      target: { mode: 'standalone', primaries: ['10.0.1.1:6379'], replid: 'T' },
      shardKeys: ['10.0.0.2:6379'],
    })
    // The entries move to the new primary's address; its process differs, so it starts over.
    expect(Object.keys(c.nodes).sort()).toEqual(['10.0.0.2:6379/0', '10.0.0.2:6379/3'])
    expect(restartChangedShards(c, { '10.0.0.2:6379': id('10.0.0.2:6379', 'run-b', 'R2') })).toEqual([
      { key: '10.0.0.2:6379', address: '10.0.0.2:6379', reason: 'primary 10.0.0.1:6379 -> 10.0.0.2:6379' },
    ])
  })

  it('--mode, --db-map and --slots are recorded: a resume with others is refused, saying what was recorded', () => {
    const c = { ...clusterCheckpoint(), dbMap: '3:0', mode: 'logical' as const }
    const map = new Map([[3, 0]])
    expect(() => checkResumeOptions('c.ckpt', c, { mode: 'logical', dbMap: map })).not.toThrow()
    expect(() => checkResumeOptions('c.ckpt', c, { mode: 'dump', dbMap: map })).toThrow(
      'the checkpoint c.ckpt records --mode logical, not dump',
    )
    expect(() => checkResumeOptions('c.ckpt', c, { mode: 'logical' })).toThrow(
      'the checkpoint c.ckpt records --db-map 3:0, not no --db-map',
    )
    expect(() =>
      checkResumeOptions('c.ckpt', { ...c, dbMap: '' }, { mode: 'logical', dbMap: new Map([[0, 0]]) }),
    ).not.toThrow() // db 0 to db 0 is no mapping
    expect(() =>
      checkResumeOptions('c.ckpt', c, { mode: 'logical', dbMap: map, slots: { from: 0, to: 9 } }),
    ).toThrow('records --slots all, not 0-9')
    expect(
      dbMapText(
        new Map([
          [4, 0],
          [3, 0],
          [1, 1],
        ]),
      ),
    ).toBe('3:0,4:0')
  })

  it('status names each shard with the address of its primary', () => {
    const text = formatCheckpoint({ ...clusterCheckpoint(), dbMap: '3:0' })
    expect(text.split('\n')[0]).toBe('in progress: 1 of 2 source nodes done; 5500 keys copied')
    expect(text.split('\n')[1]).toBe(
      'source 10.0.0.1:7000, 10.0.0.2:7000 -> target 10.0.1.1:7000, --db-map 3:0',
    )
    expect(text).toMatch(/^ {2}0-8191\/0 \(10\.0\.0\.1:7000\) +cursor 1234 +1500 keys, 2\.0 KiB$/m)
  })
})

describe('migrate checkpoint v2: files and locks', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kvtop-ckpt2-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('a version-1 checkpoint is refused as written by an older kvtop (start a new one); a newer one likewise', async () => {
    const path = join(dir, 'old.ckpt')
    writeFileSync(
      path,
      JSON.stringify({ kind: 'kvtop-migrate', version: 1, source: ['a:1'], target: ['b:2'], nodes: {} }),
    )
    expect(() => loadCheckpoint(path)).toThrow(
      `${path} was written by an older kvtop (format version 1; this kvtop reads version 2): start a new kvtop migrate checkpoint`,
    )
    try {
      loadCheckpoint(path)
    } catch (err) {
      expect(err).toMatchObject({
        exitCode: 2,
        hint: expect.stringMatching(/new --checkpoint file .*--replace/),
      })
    }
    writeFileSync(path, JSON.stringify({ kind: 'kvtop-migrate', version: 3 }))
    expect(() => loadCheckpoint(path)).toThrow(/written by a newer kvtop/)
    await saveCheckpoint(path, clusterCheckpoint())
    expect(loadCheckpoint(path)!.shards['0-8191'].runId).toBe('run-a')
  })

  it('a second lock on the same checkpoint is refused naming the pid; released, it can be taken again', () => {
    const path = join(dir, 'run.ckpt')
    const lock = lockCheckpoint(path)
    expect(lock.tookOver).toBeUndefined()
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
    })
    lock.release()
    expect(existsSync(`${path}.lock`)).toBe(false)
    const again = lockCheckpoint(path)
    again.release()
  })

  it('a lock left by a dead process is taken over, and says whose it was', () => {
    const path = join(dir, 'stale.ckpt')
    // A pid that is certainly gone: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: dead, host: hostname(), since: 1 }))
    const lock = lockCheckpoint(path)
    expect(lock.tookOver).toEqual({ pid: dead, host: hostname(), since: 1 })
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid).toBe(process.pid)
    lock.release()
  })

  it('a lock held by a live kvtop is refused, exit 2, naming its pid (and one on another host, which cannot be checked)', async () => {
    const path = join(dir, 'held.ckpt')
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)', 'kvtop-lock-holder'])
    try {
      await new Promise((r) => child.once('spawn', r))
      // The lock check reads the holder's command line: wait until /proc shows the exec'd one.
      await vi.waitUntil(
        () => readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes('kvtop-lock-holder'),
        {
          timeout: 10_000,
        },
      )
      writeFileSync(`${path}.lock`, JSON.stringify({ pid: child.pid, host: hostname(), since: 0 }))
      expect(() => lockCheckpoint(path)).toThrow(
        new RegExp(
          `the kvtop migrate checkpoint ${path} is in use by another kvtop run \\(pid ${child.pid} on `,
        ),
      )
      try {
        lockCheckpoint(path)
      } catch (err) {
        expect(err).toMatchObject({ exitCode: 2, code: 'state-locked' })
      }
      expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).pid).toBe(child.pid)
    } finally {
      child.kill('SIGKILL')
    }
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: 4242, host: 'elsewhere', since: 0 }))
    expect(() => lockCheckpoint(path)).toThrow(/in use by another kvtop run \(pid 4242 on elsewhere/)
  })
})
