import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Deployment } from '../../../../src/connect/deployment.js'
import { startFileCheck } from '../../../../src/ops/snapshot/restore-file-check.js'
import { restoreSnapshot } from '../../../../src/ops/snapshot/restore.js'
import type { OperationEvent } from '../../../../src/ops/events.js'
import { runCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

const fixtures = fileURLToPath(new URL('../../../fixtures/rdb/', import.meta.url))

/**
 * snapshot restore starts reading and checking the file while it connects to the target: the
 * target's failure is still the one reported, a bad file is still refused before anything is
 * written, and a check started early gives the restore the same summary as one started by it.
 */
describe('snapshot restore: the file check started before the target is connected', () => {
  let target: TestSandbox
  let admin: Redis
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'restore-check-'))

  beforeAll(async () => {
    target = await startSandbox()
    admin = await target.admin()
  })
  afterAll(async () => {
    await target?.down()
  })

  it('an unreachable target is reported (exit 3), even when the file is missing too', async () => {
    const r = await runCli([
      'snapshot',
      'restore',
      join(dir, 'missing.rdb'),
      '--to',
      'redis://127.0.0.1:1',
      '--timeout',
      '2',
    ])
    expect(r.code, r.stderr).toBe(3)
    expect(r.stderr).not.toMatch(/missing\.rdb/)
    expect(r.stderr).not.toMatch(/unhandled|at async/i)
  })

  it('a missing file with a reachable target: exit 2 naming the file, nothing written', async () => {
    await admin.flushall()
    const r = await runCli(['snapshot', 'restore', join(dir, 'missing.rdb'), '--to', target.url])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/missing\.rdb/)
    expect(await admin.dbsize()).toBe(0)
  })

  it('a file damaged past its start: refused after the connection, nothing written (--json names the phases in order)', async () => {
    const good = readFileSync(`${fixtures}redis7-types.rdb`)
    const damaged = Buffer.from(good)
    damaged[damaged.length - 20] ^= 0x5a
    const file = join(dir, 'damaged.rdb')
    writeFileSync(file, damaged)
    await admin.flushall()
    const r = await runCli(['snapshot', 'restore', file, '--to', target.url, '--json'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/nothing was restored|cannot be read|byte offset/)
    expect(r.stderr).toMatch(/"phase":"verifying"/)
    expect(r.stderr).not.toMatch(/"phase":"restoring"/)
    expect(await admin.dbsize()).toBe(0)
  })

  it('a check started before connecting: the same report and data as a restore that checks by itself', async () => {
    const file = `${fixtures}redis7-types.rdb`
    const events: OperationEvent[] = []
    const restore = async (early: boolean) => {
      await admin.flushall()
      await admin.call('FUNCTION', 'FLUSH')
      const fileCheck = early ? startFileCheck(file, (e) => events.push(e)) : undefined
      const deployment = await Deployment.connect({ url: target.url }, { probe: true })
      try {
        const report = await restoreSnapshot(deployment, file, fileCheck ? { fileCheck } : {})
        return { report, digest: String(await admin.call('DEBUG', 'DIGEST')) }
      } finally {
        await deployment.close()
      }
    }
    const late = await restore(false)
    const early = await restore(true)
    expect(early.digest).toBe(late.digest)
    expect(early.report.restored).toBe(late.report.restored)
    expect(early.report.restored).toBeGreaterThan(0)
    expect(early.report.checksum).toBe('ok')
    expect(early.report.dbs).toEqual(late.report.dbs)
    expect(events[0]).toMatchObject({ type: 'phase', phase: 'verifying' })
  })
})
