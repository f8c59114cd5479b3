import { randomBytes } from 'node:crypto'
import { copyFileSync, mkdtempSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Deployment } from '../../../../src/connect/deployment.js'
import { OperationError } from '../../../../src/errors.js'
import { restoreSnapshot } from '../../../../src/ops/snapshot/restore.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * What the target answers decides what counts: an error reply is never a restored key. Refusals
 * for now (OOM ...) are sent again after a bounded back-off; refusals for good (NOPERM ...) are
 * failures at once.
 */
describe('snapshot restore: the target refuses keys', () => {
  let sb: TestSandbox
  let admin: Redis
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'restore-refusals-'))
  const file = join(dir, 'keys.rdb')
  const KEYS = 3000

  beforeAll(async () => {
    sb = await startSandbox()
    admin = await sb.admin()
    for (let i = 0; i < KEYS; i += 500) {
      const pipe = admin.pipeline()
      for (let j = i; j < i + 500; j++) pipe.set(`${j % 2 ? 'a' : 'b'}:${j}`, Buffer.alloc(1024, j & 0xff))
      await pipe.exec()
    }
    const [, serverDir] = (await admin.config('GET', 'dir')) as string[]
    const [, dbfilename] = (await admin.config('GET', 'dbfilename')) as string[]
    await admin.call('SAVE')
    copyFileSync(join(serverDir, dbfilename), file)
  })
  beforeEach(async () => {
    await admin.config('SET', 'maxmemory', '0')
    await admin.flushall()
  })
  afterAll(async () => {
    await sb?.down()
  })

  async function restore(url: string, options: Parameters<typeof restoreSnapshot>[2] = {}) {
    const deployment = await Deployment.connect({ url }, { probe: true })
    try {
      return await restoreSnapshot(deployment, file, { retryDelaysMs: [50, 50], ...options })
    } finally {
      await deployment.close()
    }
  }

  async function fillMemoryTo(headroomBytes: number): Promise<void> {
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
    await admin.config('SET', 'maxmemory', String(used + headroomBytes))
  }

  it('OOM that lasts: retried with back-off, then failed; restored = what the target holds', async () => {
    await fillMemoryTo(600 * 1024)
    const warnings: string[] = []
    const started = Date.now()
    const err = await restore(sb.url, {
      onEvent: (e) => {
        if (e.type === 'warning') warnings.push(String(e.message))
      },
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OperationError)
    const m = /^(\d+) of 3000 keys could not be restored \((\d+) were\): OOM /.exec((err as Error).message)
    expect(m, (err as Error).message).not.toBeNull()
    const [failed, restored] = [Number(m![1]), Number(m![2])]
    expect(failed).toBeGreaterThan(0)
    expect(restored).toBeGreaterThan(0)
    expect(failed + restored).toBe(KEYS)
    // No error reply was counted as restored.
    await admin.config('SET', 'maxmemory', '0')
    expect(await admin.dbsize()).toBe(restored)
    // Two tries after the first pass (the back-off given), then the refusal stood.
    expect(warnings.filter((w) => /refused \d+ keys for now \(OOM /.test(w))).toHaveLength(2)
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('OOM that passes: the keys refused for now are restored on a later try', async () => {
    await fillMemoryTo(600 * 1024)
    const report = await restore(sb.url, {
      retryDelaysMs: [200, 200, 200],
      onEvent: (e) => {
        // The operator makes room while kvtop backs off.
        if (e.type === 'warning' && /for now/.test(String(e.message)))
          void admin.config('SET', 'maxmemory', '0')
      },
    })
    expect(report).toMatchObject({ keys: KEYS, restored: KEYS, failed: 0, existing: 0 })
    expect(report.warnings.some((w) => /refused \d+ keys for now \(OOM /.test(w))).toBe(true)
    expect(await admin.dbsize()).toBe(KEYS)
  })

  it('a refusal for good (NOPERM on some keys) fails those keys at once, without retries', async () => {
    await admin.call('ACL', 'SETUSER', 'only-a', 'on', '>pw-a', 'resetkeys', '~a:*', '~kvtop:*', '+@all')
    const url = `redis://only-a:pw-a@127.0.0.1:${sb.summary.nodes[0].port}`
    const warnings: string[] = []
    const err = await restore(url, {
      replace: true,
      onEvent: (e) => {
        if (e.type === 'warning') warnings.push(String(e.message))
      },
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OperationError)
    expect((err as Error).message).toMatch(
      /^1500 of 3000 keys could not be restored \(1500 were\): NOPERM .* \(e\.g\. "b:\d+"\)$/,
    )
    expect(warnings.filter((w) => /for now/.test(w))).toEqual([])
    expect(await admin.dbsize()).toBe(1500)
  })

  it('interrupted mid-pass: stops after the chunk under way, every key it counts is on the target byte for byte', async () => {
    // Values that do not compress (the others above do: one byte repeated), keys with CR LF, NUL
    // and invalid UTF-8: a 3 MB file, read a megabyte at a time.
    const value = () => Buffer.concat([Buffer.from([0xff, 0x0d, 0x0a, 0x00]), randomBytes(1020)])
    const sent = new Map<string, Buffer>()
    for (let i = 0; i < KEYS; i += 500) {
      const pipe = admin.pipeline()
      for (let j = i; j < i + 500; j++) {
        const key = Buffer.concat([Buffer.from(`r:${j}:`), Buffer.from([0xc3, 0x28, 0x0d, 0x0a, 0x00])])
        sent.set(key.toString('hex'), value())
        pipe.set(key, sent.get(key.toString('hex'))!)
      }
      await pipe.exec()
    }
    const random = join(dir, 'random.rdb')
    const [, serverDir] = (await admin.config('GET', 'dir')) as string[]
    const [, dbfilename] = (await admin.config('GET', 'dbfilename')) as string[]
    await admin.call('SAVE')
    copyFileSync(join(serverDir, dbfilename), random)
    expect(statSync(random).size).toBeGreaterThan(3_000_000)
    await admin.flushall()

    const abort = new AbortController()
    // A clock a second ahead at each look: progress is reported after every chunk.
    let clock = Date.now()
    const deployment = await Deployment.connect({ url: sb.url }, { probe: true })
    const err = await restoreSnapshot(deployment, random, {
      signal: abort.signal,
      now: () => (clock += 1000),
      // The first progress of the keys comes after the file's first chunk has been sent.
      onEvent: (e) => {
        if (e.type === 'progress' && e.task === 'restore' && Number(e.done) > 0) abort.abort()
      },
    })
      .catch((e: unknown) => e)
      .finally(() => deployment.close())
    expect(err).toBeInstanceOf(OperationError)
    const m = /^interrupted after (\d+) of 3000 keys$/.exec((err as Error).message)
    expect(m, (err as Error).message).not.toBeNull()
    const restored = Number(m![1])
    expect(restored).toBeGreaterThan(0)
    expect(restored).toBeLessThan(KEYS)
    expect(await admin.dbsize()).toBe(restored)
    const keys = await admin.keysBuffer('*')
    const values = await admin.mgetBuffer(...keys)
    keys.forEach((key, i) => expect(values[i]).toEqual(sent.get(key.toString('hex'))))
  })
})
