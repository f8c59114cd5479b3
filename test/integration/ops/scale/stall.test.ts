import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runLoad } from '../../../../src/sandbox/load.js'
import { startCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * A source node that hangs (SIGSTOP) while its slots are moving: the MIGRATE loop owes replies and
 * gets none; after --stall-timeout the scale stops with exit 5, naming the node (the slots being
 * moved stay open for `scale --fix`), instead of waiting forever.
 */
describe('kvtop scale: a source node that hangs mid-move', { timeout: 120_000 }, () => {
  let sb: TestSandbox

  beforeAll(async () => {
    sb = await startSandbox({ shards: 2, replicas: 0 })
    await runLoad({ url: sb.url }, { rate: 0, durationSeconds: 0, keys: 30_000, seed: 3 })
  })
  afterAll(async () => {
    for (const n of sb?.summary.nodes ?? []) if (n.pid) process.kill(n.pid, 'SIGCONT')
    await sb?.down()
  })

  it('stops with exit 5 after --stall-timeout, naming the node', async () => {
    const [gaining, source] = sb.summary.nodes
    const run = startCli([
      'scale',
      sb.url,
      '--rebalance',
      '--weights',
      `127.0.0.1:${gaining.port}=3`,
      '--batch',
      '5',
      '--parallel',
      '1',
      '--slot-group',
      '16',
      '--stall-timeout',
      '2',
      '--yes',
      '--json',
    ])
    try {
      await run.waitForStderr(
        (l) => /"type":"progress"/.test(l) && /"task":"keys"/.test(l) && JSON.parse(l).done > 200,
      )
      process.kill(source.pid!, 'SIGSTOP')
      const stoppedAt = Date.now()
      const r = await run.done
      const waited = Date.now() - stoppedAt
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(waited).toBeGreaterThanOrEqual(2000)
      expect(waited).toBeLessThan(8000)
      const error = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\n{') + 1)).error
      expect(error.message).toBe(
        `the scale stopped: the node 127.0.0.1:${source.port} has not answered for 2 s`,
      )
      expect(error.resumable).toBe(true)
      expect(error.hint).toMatch(/scale --fix/)
    } finally {
      process.kill(source.pid!, 'SIGCONT')
    }
  })
})
