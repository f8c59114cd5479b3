import { execFileSync } from 'node:child_process'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Difference } from '../../../../src/ops/verify/types.js'
import type { VerifyOptions } from '../../../../src/ops/verify/types.js'
import { encodeCommands, type CommandArg } from '../../../../src/wire/encode.js'
import { runCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { verifySandboxes } from './verify-sandboxes.js'

/**
 * Thousands of differing keys: the later passes re-check each in its own db pair (keys that
 * converge between passes, a copy catching up, leave the report; the others stay, each reported
 * once with its db), and past --max-differences the comparison stops, saying so.
 */
const BIN = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xc3, 0x28])
const key = (prefix: string, i: number) => Buffer.concat([Buffer.from(`${prefix}:${i}:`), BIN])
const KEYS = 3000
const EXTRA = 2000
const DELETED = 1500

async function inDb(r: Redis, db: number, fill: (p: ReturnType<Redis['pipeline']>) => void): Promise<void> {
  const p = r.pipeline().select(db)
  fill(p)
  await p.select(0).exec()
}

/** Commands run on one db of a sandbox before this returns (redis-cli --pipe, binary-safe): a change between two passes. */
function runNow(sb: TestSandbox, db: number, commands: CommandArg[][]): void {
  const port = String(sb.summary.nodes[0].port)
  const out = execFileSync('redis-cli', ['-p', port, '--pipe'], {
    input: encodeCommands([['SELECT', db], ...commands]),
  }).toString()
  if (!/errors: 0, replies: \d+/.test(out)) throw new Error(`redis-cli --pipe: ${out}`)
}

/**
 * Both sides: KEYS keys in db 0 and in db 1. The target also holds EXTRA keys of its own in db 0,
 * and lacks DELETED of the source's keys in db 1.
 */
async function seed(src: Redis, tgt: Redis): Promise<{ extra: Buffer[]; deleted: Buffer[] }> {
  await Promise.all([src.flushall(), tgt.flushall()])
  for (const r of [src, tgt])
    for (const db of [0, 1])
      await inDb(r, db, (p) => {
        for (let i = 0; i < KEYS; i++) p.set(key(`d${db}`, i), Buffer.concat([BIN, Buffer.from(String(i))]))
      })
  const extra = Array.from({ length: EXTRA }, (_, i) => key('extra', i))
  const deleted = Array.from({ length: DELETED }, (_, i) => key('d1', i * 2))
  await inDb(tgt, 0, (p) => extra.forEach((k) => p.set(k, 'x')))
  await inDb(tgt, 1, (p) => deleted.forEach((k) => p.del(k)))
  return { extra, deleted }
}

const hexes = (keys: Buffer[]) => keys.map((k) => k.toString('hex')).sort()

describe('verify: later passes over many differences in two db pairs', () => {
  let source: TestSandbox
  let target: TestSandbox
  let src: Redis
  let tgt: Redis

  beforeAll(async () => {
    ;[source, target] = await Promise.all([startSandbox(), startSandbox()])
    ;[src, tgt] = await Promise.all([source.admin(), target.admin()])
  }, 120_000)

  afterAll(async () => {
    await Promise.all([source?.down(), target?.down()])
  })

  it('re-checks each key in its own db; what converged between passes is gone, the rest reported once', async () => {
    const { extra, deleted } = await seed(src, tgt)

    // Before pass 2, half the keys missing in db 1 of the target arrive; before pass 3, a quarter
    // of the extra keys of its db 0 are deleted.
    const arrived = deleted.filter((_, i) => i % 2 === 0)
    const removed = extra.filter((_, i) => i % 4 === 0)
    const phases: string[] = []
    const onEvent: VerifyOptions['onEvent'] = (event) => {
      if (event.type !== 'phase') return
      phases.push(`${event.phase}: ${event.detail ?? ''}`)
      if (event.phase === 'pass 2')
        runNow(
          target,
          1,
          arrived.map((k) => ['SET', k, Buffer.concat([BIN, Buffer.from(String(deleted.indexOf(k) * 2))])]),
        )
      if (event.phase === 'pass 3')
        runNow(
          target,
          0,
          removed.map((k) => ['DEL', k]),
        )
    }
    const found: Difference[] = []
    const r = await verifySandboxes(source, target, {
      passes: 3,
      passIntervalMs: 10,
      onEvent,
      onDifference: (d) => found.push(d),
    })

    expect(phases.filter((p) => p.startsWith('pass'))).toEqual([
      `pass 2: re-checking ${EXTRA + DELETED} keys`,
      `pass 3: re-checking ${EXTRA + DELETED - arrived.length} keys`,
    ])
    expect(r.passes).toBe(3)
    expect(r.counts).toEqual({
      'missing-in-target': DELETED - arrived.length,
      'missing-in-source': EXTRA - removed.length,
      type: 0,
      value: 0,
      ttl: 0,
      count: 0,
    })
    expect(r.converged).toBe(arrived.length + removed.length)
    expect(found).toHaveLength(DELETED - arrived.length + EXTRA - removed.length)
    const inCategory = (category: string, db: number) =>
      found
        .filter((d) => d.category === category && d.db === db)
        .map((d) => d.keyHex)
        .sort()
    expect(inCategory('missing-in-target', 1)).toEqual(hexes(deleted.filter((k) => !arrived.includes(k))))
    expect(inCategory('missing-in-source', 0)).toEqual(hexes(extra.filter((k) => !removed.includes(k))))
  })

  it('stopped at the start of a pass: ends without re-checking, what the earlier pass found is reported', async () => {
    const { deleted } = await seed(src, tgt)
    const stop = new AbortController()
    const phases: string[] = []
    const onEvent: VerifyOptions['onEvent'] = (event) => {
      if (event.type !== 'phase') return
      phases.push(String(event.phase))
      if (event.phase !== 'pass 2') return
      // Too late for this run: it is stopped before it looks again.
      runNow(
        target,
        1,
        deleted.map((k) => ['SET', k, 'back']),
      )
      stop.abort()
    }
    const r = await verifySandboxes(source, target, {
      passes: 3,
      passIntervalMs: 10,
      batchKeys: 100,
      signal: stop.signal,
      onEvent,
    })
    expect(phases.filter((p) => p.startsWith('pass'))).toEqual(['pass 2'])
    expect(r.passes).toBe(2)
    expect(r.converged).toBe(0)
    expect(r.counts).toMatchObject({ 'missing-in-target': DELETED, 'missing-in-source': EXTRA })
  })

  it('stops comparing at --max-differences: no later pass, the limit in the report, exit 1 saying so', async () => {
    await seed(src, tgt)
    const warnings: string[] = []
    const r = await verifySandboxes(source, target, {
      passes: 3,
      passIntervalMs: 10,
      maxDifferences: 1000,
      onEvent: (event) => {
        if (event.type === 'warning') warnings.push(String(event.message))
      },
    })
    expect(r.identical).toBe(false)
    expect(r.stoppedAt).toBe(1000)
    expect(r.passes).toBe(1)
    expect(Object.values(r.counts).reduce((a, b) => a + b, 0)).toBe(1000)
    expect(warnings).toEqual([
      'stopped comparing after 1000 differences (--max-differences): the datasets are far apart; the counts are of the keys compared until then',
    ])

    const args = ['verify', '--source', source.url, '--target', target.url, '--pass-interval', '0']
    const text = await runCli([...args, '--max-differences', '500'])
    expect(text.code, text.stderr).toBe(1)
    expect(text.stdout).toMatch(/^DIFFERENT: /)
    expect(text.stdout).toContain(
      'Stopped after 500 differences (--max-differences): the datasets are far apart, the counts are of the keys compared until then. Check --source and --target; for a full report raise the limit (0: none).',
    )
    const json = await runCli([...args, '--max-differences', '500', '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ identical: false, stoppedAt: 500, passes: 1 })

    const all = await runCli([...args, '--max-differences', '0', '--json'])
    expect(all.code).toBe(1)
    const full = JSON.parse(all.stdout)
    expect(full.stoppedAt).toBeUndefined()
    expect(full.counts).toMatchObject({ 'missing-in-target': DELETED, 'missing-in-source': EXTRA })
  })
})
