import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../../helpers/cli.js'
import { digestsByKey } from '../../helpers/dataset.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'
import { fillDataset } from '../../helpers/snapshot-dataset.js'

/**
 * SIGTERM (what a service manager or a CI timeout sends) stops a long command the way Ctrl-C does:
 * cleanly, with exit 5 and what it reached, never by the process just dying mid-write.
 */
let source: TestSandbox
let target: TestSandbox
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-interrupts-'))
  ;[source, target] = await Promise.all([startSandbox(), startSandbox()])
})

afterAll(async () => {
  await Promise.all([source?.down(), target?.down()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** An NDJSON event of stderr; other lines (there are none with --json but a blank one) as no event. */
function event(line: string): { type?: string; done?: number; phase?: string } {
  try {
    return JSON.parse(line)
  } catch {
    return {}
  }
}

describe('SIGTERM', () => {
  it('stops migrate run mid-copy with exit 5 and a checkpoint the same command resumes from', async () => {
    const keys = await fillDataset(await source.admin(), { prefix: 'sigterm:', n: 20_000 })
    const checkpoint = join(dir, 'migrate.ckpt')
    const args = [
      'migrate',
      'run',
      '--source',
      source.url,
      '--target',
      target.url,
      '--checkpoint',
      checkpoint,
    ]
    const run = startCli([...args, '--max-ops', '3000', '--json'])
    await run.waitForStderr((l) => event(l).type === 'progress' && event(l).done! > 1000, 60_000)
    run.kill('SIGTERM')
    const stopped = await run.done
    expect(stopped.code, stopped.stderr.slice(-2000)).toBe(5)
    const error = JSON.parse(stopped.stdout).error
    expect(error).toMatchObject({ resumable: true, exitCode: 5 })
    expect(error.message).toMatch(/interrupted before the copy was complete/)
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8'))
    const node = Object.values(saved.nodes as Record<string, { done: boolean; keys: number }>)[0]
    expect(node.done).toBe(false)
    expect(node.keys).toBeGreaterThan(0)
    expect(node.keys).toBeLessThan(keys)

    const resumed = await runCli([...args, '--json'], { timeoutMs: 180_000 })
    expect(resumed.code, resumed.stderr.slice(-2000)).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ resumed: true, errors: { total: 0 } })
    const [from, to] = await Promise.all([
      digestsByKey([await source.admin()]),
      digestsByKey([await target.admin()]),
    ])
    expect(from.size).toBe(keys)
    expect(to).toEqual(from)
  }, 300_000)

  it('stops replay with exit 5 at the byte offset it reached, everything before it applied', async () => {
    // A MONITOR log paced one command a second (--speed 1x): the replay is mid-way when stopped.
    const header = 'OK\n'
    const lines = Array.from(
      { length: 120 },
      (_, i) =>
        `${1_700_000_000 + i}.000000 [0 127.0.0.1:5555] "SET" "replay:${i}:\\x00\\r\\n\\xff" "v${i}"\n`,
    )
    const file = join(dir, 'paced.log')
    writeFileSync(file, header + lines.join(''))
    const client = await target.admin()
    await client.flushall()
    const run = startCli(['replay', file, '--target', target.url, '--speed', '1x', '--json'])
    await run.waitForStderr((l) => event(l).type === 'phase' && event(l).phase === 'replay', 60_000)
    for (let seen = 0; seen < 3; seen = await client.dbsize()) await new Promise((r) => setTimeout(r, 100))
    run.kill('SIGTERM')
    const stopped = await run.done
    expect(stopped.code, stopped.stderr.slice(-2000)).toBe(5)
    const report = JSON.parse(stopped.stdout)
    expect(report.stoppedAt).toMatchObject({ file, reason: 'interrupted' })
    expect(stopped.stderr).toContain(
      `interrupted at ${file} byte ${report.stoppedAt.offset}: the rest of the log was not replayed`,
    )
    // The offset is the start of the first line not sent: every line before it is on the target.
    let offset = header.length
    const sent = lines.findIndex((line) => {
      const here = offset
      offset += Buffer.byteLength(line)
      return here === report.stoppedAt.offset
    })
    expect(sent).toBeGreaterThanOrEqual(3)
    expect(sent).toBeLessThan(lines.length)
    expect(await client.dbsize()).toBe(sent)
    const key = (i: number) =>
      Buffer.concat([Buffer.from(`replay:${i}:`), Buffer.from([0x00, 0x0d, 0x0a, 0xff])])
    expect(await client.getBuffer(key(sent - 1))).toEqual(Buffer.from(`v${sent - 1}`))
    expect(await client.exists(key(sent))).toBe(0)
  }, 120_000)
})
