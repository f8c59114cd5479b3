import { copyFileSync, mkdtempSync } from 'node:fs'
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
})
