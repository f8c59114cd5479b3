import { copyFileSync, existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { finalJson } from '../../../helpers/snapshot-dataset.js'

/**
 * A node that owes replies and answers nothing (here: a redis-server stopped with SIGSTOP in the
 * middle of the run) stops snapshot create and snapshot restore after --stall-timeout with exit 5,
 * naming the node, instead of hanging; nothing is left under the final file name.
 */
describe('snapshot create / restore: a node that hangs mid-run (SIGSTOP)', () => {
  let source: TestSandbox
  let target: TestSandbox
  let admin: Redis
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'snap-stall-'))
  const KEYS = 300_000
  /** The source's dataset as an RDB file, for the restore. */
  const file = join(dir, 'source-dump.rdb')

  const event = (line: string) => {
    try {
      return JSON.parse(line)
    } catch {
      return {}
    }
  }
  /** Stop `pid` once `run` reports progress, and say when; always continued afterwards. */
  /**
   * The least time from SIGSTOP to the stall verdict: kvtop's 2 s of silence count from the last
   * byte it received, which can come a few ms before the test sends SIGSTOP (the node had nothing
   * more in flight), so 2000 ms measured from the signal is not guaranteed (1997 ms was seen).
   */
  const STALL_FLOOR_MS = 1900

  async function stopWhen(
    run: ReturnType<typeof startCli>,
    pid: number,
    started: (e: Record<string, unknown>) => boolean,
  ): Promise<number> {
    await run.waitForStderr((l) => started(event(l)), 60_000)
    process.kill(pid, 'SIGSTOP')
    return Date.now()
  }

  beforeAll(async () => {
    ;[source, target] = await Promise.all([startSandbox(), startSandbox()])
    admin = await source.admin()
    await admin.call('DEBUG', 'POPULATE', String(KEYS), 'key', '64')
    const [, serverDir] = (await admin.config('GET', 'dir')) as string[]
    const [, dbfilename] = (await admin.config('GET', 'dbfilename')) as string[]
    await admin.call('SAVE')
    copyFileSync(join(serverDir, dbfilename), file)
  }, 120_000)
  afterAll(async () => {
    for (const sb of [source, target])
      if (sb?.summary.nodes[0].pid) process.kill(sb.summary.nodes[0].pid, 'SIGCONT')
    await Promise.all([source?.down(), target?.down()])
  })

  it('create --method scan: exit 5 within the stall timeout, the node named, no file left', async () => {
    const pid = source.summary.nodes[0].pid!
    const out = join(dir, 'scan.rdb')
    const run = startCli([
      'snapshot',
      'create',
      source.url,
      '--out',
      out,
      '--max-ops',
      '20000',
      '--stall-timeout',
      '2',
      '--json',
    ])
    try {
      const stoppedAt = await stopWhen(run, pid, (e) => e.type === 'progress' && Number(e.done) > 2000)
      const r = await run.done
      const waited = Date.now() - stoppedAt
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(waited).toBeGreaterThanOrEqual(STALL_FLOOR_MS)
      expect(waited).toBeLessThan(8000)
      const error = finalJson(r.stdout).error
      expect(error.message).toBe(
        `the snapshot stopped: the node 127.0.0.1:${source.summary.nodes[0].port} has not answered for 2 s`,
      )
      expect(error.code).toBe('stalled')
      expect(existsSync(out)).toBe(false)
      expect(readdirSync(dir).filter((f) => f.startsWith('scan'))).toEqual([])
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  })

  it('create --method sync: a transfer that stops midway ends with exit 5, no file left', async () => {
    const pid = source.summary.nodes[0].pid!
    // A diskless transfer slowed down (50 us per key: ~15 s for the dataset) so that it is midway
    // when the node is stopped.
    await admin.call('CONFIG', 'SET', 'repl-diskless-sync', 'yes')
    await admin.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
    await admin.call('CONFIG', 'SET', 'rdb-key-save-delay', '50')
    const out = join(dir, 'sync.rdb')
    const run = startCli([
      'snapshot',
      'create',
      source.url,
      '--out',
      out,
      '--method',
      'sync',
      '--stall-timeout',
      '2',
      '--json',
    ])
    try {
      const stoppedAt = await stopWhen(run, pid, (e) => e.type === 'progress' && Number(e.done) > 1000)
      const r = await run.done
      const waited = Date.now() - stoppedAt
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(waited).toBeGreaterThanOrEqual(STALL_FLOOR_MS)
      expect(waited).toBeLessThan(8000)
      expect(finalJson(r.stdout).error.message).toBe(
        `the snapshot stopped: the node 127.0.0.1:${source.summary.nodes[0].port} has not answered for 2 s`,
      )
      expect(existsSync(out)).toBe(false)
      expect(readdirSync(dir).filter((f) => f.startsWith('sync'))).toEqual([])
    } finally {
      process.kill(pid, 'SIGCONT')
      await admin.call('CONFIG', 'SET', 'rdb-key-save-delay', '0')
      // The server ends the snapshot child once its reader is gone.
      for (let i = 0; i < 100 && /rdb_bgsave_in_progress:1/.test(await admin.info('persistence')); i++)
        await new Promise((r) => setTimeout(r, 100))
    }
  })

  it('restore: the target stopped mid-restore ends with exit 5 naming it, resumable', async () => {
    const pid = target.summary.nodes[0].pid!
    const run = startCli(['snapshot', 'restore', file, '--to', target.url, '--stall-timeout', '2', '--json'])
    try {
      const stoppedAt = await stopWhen(
        run,
        pid,
        (e) => e.type === 'progress' && e.task === 'restore' && Number(e.done) > 0,
      )
      const r = await run.done
      const waited = Date.now() - stoppedAt
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(waited).toBeGreaterThanOrEqual(STALL_FLOOR_MS)
      expect(waited).toBeLessThan(8000)
      const error = finalJson(r.stdout).error
      expect(error.message).toMatch(
        new RegExp(
          `^the restore stopped after \\d+ of ${KEYS} keys: the node 127\\.0\\.0\\.1:${target.summary.nodes[0].port} has not answered for 2 s$`,
        ),
      )
      expect(error.resumable).toBe(true)
      // Stopped midway: some keys were restored, not all.
      const restored = Number(/after (\d+) of/.exec(error.message)![1])
      expect(restored).toBeLessThan(KEYS)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  })
})
