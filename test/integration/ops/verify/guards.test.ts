import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * verify and migrate refuse to compare or copy a server onto itself however it is named, and a
 * verify against a node that stops answering ends within --stall-timeout, naming the node.
 */
let a: TestSandbox
let b: TestSandbox

beforeAll(async () => {
  ;[a, b] = await Promise.all([startSandbox(), startSandbox()])
  const admin = await a.admin()
  for (let i = 0; i < 300; i += 100) {
    const pipeline = admin.pipeline()
    for (let j = i; j < i + 100; j++) pipeline.set(Buffer.from(`k:${j}:\r\n\x00\xff`, 'latin1'), `v${j}`)
    await pipeline.exec()
  }
})

afterAll(async () => {
  await Promise.all([a?.down(), b?.down()])
})

describe('the same server under two names', () => {
  const port = () => a.summary.nodes[0].port
  it('verify refuses it (exit 2) instead of saying IDENTICAL', async () => {
    const r = await runCli([
      'verify',
      '--source',
      `redis://127.0.0.1:${port()}`,
      '--target',
      `redis://localhost:${port()}`,
    ])
    expect(r.code, r.stdout + r.stderr).toBe(2)
    expect(r.stderr).toMatch(
      new RegExp(
        `the source and the target are the same server: 127\\.0\\.0\\.1:${port()} and localhost:${port()} have the same run_id`,
      ),
    )
    expect(r.stdout).not.toMatch(/IDENTICAL/i)
  })

  it('migrate run --replace and migrate plan refuse it (exit 2) and touch nothing', async () => {
    const admin = await a.admin()
    const before = await admin.dbsize()
    for (const args of [['run', '--replace', '--no-verify'], ['plan']]) {
      const r = await runCli([
        'migrate',
        args[0],
        '--source',
        `redis://127.0.0.1:${port()}`,
        '--target',
        `redis://localhost:${port()}`,
        ...args.slice(1),
      ])
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(/same server/)
    }
    expect(await admin.dbsize()).toBe(before)
  })
})

describe('verify against a node that stops answering', () => {
  it('exits 5 within --stall-timeout, naming the target node', async () => {
    // The target must hold the same keys, so the compare has replies to owe.
    const admin = await a.admin()
    const copy = await b.admin()
    const keys = (await admin.keysBuffer('*')) as Buffer[]
    for (const k of keys) await copy.set(k, (await admin.getBuffer(k))!)
    const pid = Number(readFileSync(b.state.nodes[0].pidFile, 'utf8'))
    const run = startCli([
      'verify',
      '--source',
      `redis://127.0.0.1:${a.summary.nodes[0].port}`,
      '--target',
      `redis://127.0.0.1:${b.summary.nodes[0].port}`,
      '--max-ops',
      '100',
      '--stall-timeout',
      '2',
      '--passes',
      '1',
      '--json',
    ])
    try {
      await run.waitForStderr(/"type":"progress"/, 30_000)
      process.kill(pid, 'SIGSTOP')
      const stoppedAt = Date.now()
      const r = await run.done
      expect(r.code, r.stderr.slice(-1500)).toBe(5)
      expect(r.stderr).toMatch(
        new RegExp(
          `verify stopped: the target node 127\\.0\\.0\\.1:${b.summary.nodes[0].port} has not answered for \\d+(\\.\\d)? s`,
        ),
      )
      expect(Date.now() - stoppedAt).toBeLessThan(20_000)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  }, 60_000)
})
