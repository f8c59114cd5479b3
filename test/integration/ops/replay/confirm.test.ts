import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { hasScript, runCliInPty } from '../../../helpers/pty.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * `replay --allow-flush` with dataset-wide commands in the log: asked first on a terminal, and
 * refused (exit 2, nothing sent) without --yes anywhere else and under --json.
 */
const enc = (...args: string[]): string =>
  `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')

describe('kvtop replay --allow-flush asks before dataset-wide commands', { timeout: 120_000 }, () => {
  let target: TestSandbox
  let admin: Redis
  let dir: string
  let flushLog: string
  let plainLog: string

  beforeAll(async () => {
    target = await startSandbox({ shards: 0, replicas: 0 })
    admin = await target.admin()
    dir = mkdtempSync(join(tmpdir(), 'kvtop-replay-confirm-'))
    flushLog = join(dir, 'flush.resp')
    writeFileSync(flushLog, enc('SET', 'x', '1') + enc('FLUSHALL') + enc('SET', 'y', '2'))
    plainLog = join(dir, 'plain.resp')
    writeFileSync(plainLog, enc('SET', 'p', '1'))
  })
  afterAll(async () => {
    await target?.down()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  beforeEach(async () => {
    await admin.flushall()
    await admin.set('keep', 'me')
  })

  const keys = async () => (await admin.keys('*')).sort()
  const args = (log: string, ...more: string[]) => ['replay', log, '--to', target.url, '--replace', ...more]

  it('not on a terminal, without --yes: exit 2 naming --yes, nothing sent; --json too', async () => {
    const r = await runCli(args(flushLog, '--allow-flush'))
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(
      'refusing to replay 1 dataset-wide command(s) (FLUSHALL 1) without --yes (not on a terminal to ask): nothing was sent',
    )
    expect(r.stderr).toContain('Pass --yes to confirm.')
    expect(await keys()).toEqual(['keep'])

    const json = await runCli(args(flushLog, '--allow-flush', '--json'))
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'needs-confirmation', exitCode: 2 })
    expect(json.stderr).toContain('--json never prompts')
    expect(await keys()).toEqual(['keep'])
  })

  it('with --yes it replays them; a log without dataset-wide commands needs no --yes', async () => {
    const r = await runCli(args(flushLog, '--allow-flush', '--yes'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('1 dataset-wide commands replayed (--allow-flush): FLUSHALL 1.')
    // FLUSHALL took keep and x.
    expect(await keys()).toEqual(['y'])

    await admin.set('keep', 'me')
    const plain = await runCli(args(plainLog, '--allow-flush'))
    expect(plain.code, plain.stderr).toBe(0)
    expect(await keys()).toEqual(['keep', 'p', 'y'])
  })

  it.skipIf(!hasScript())(
    'on a terminal: answered n, exit 2 and nothing sent; answered y, replayed',
    async () => {
      const no = await runCliInPty(args(flushLog, '--allow-flush'), 'n')
      expect(no.asked, no.output).toBe(true)
      expect(no.output).toMatch(
        /The log holds 1 dataset-wide command\(s\) \(FLUSHALL 1; the first at .*flush\.resp byte 27\)\. Replay them onto 127\.0\.0\.1:\d+, acting on everything it holds\? \[y\/N\]/,
      )
      expect(no.code, no.output).toBe(2)
      expect(no.output).toContain('not confirmed: nothing was sent')
      expect(await keys()).toEqual(['keep'])

      const yes = await runCliInPty(args(flushLog, '--allow-flush'), 'y')
      expect(yes.asked, yes.output).toBe(true)
      expect(yes.code, yes.output).toBe(0)
      expect(await keys()).toEqual(['y'])
    },
  )
})
