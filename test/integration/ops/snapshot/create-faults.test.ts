import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli, type CliResult } from '../../../helpers/cli.js'
import { digestsByKey, seedKeys } from '../../../helpers/dataset.js'
import { serverFromRdb } from '../../../helpers/rdb-server.js'
import { restartStandalone, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * snapshot create when the run is cut: the source restarted mid-read, or kvtop killed with -9.
 * Nothing is ever left under the final name but a complete file; the next run's file, loaded into
 * a fresh redis-server, holds every key byte for byte (binary keys: NUL, CR LF, invalid UTF-8).
 */
describe('snapshot create: the source restarted, or kvtop killed, mid-run', () => {
  let source: TestSandbox
  let admin: Redis
  let expected: Map<string, string>
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'snap-faults-'))
  const KEYS = 8000
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  beforeAll(async () => {
    source = await startSandbox()
    admin = await source.admin()
    await seedKeys(admin, 'cut', KEYS)
    // Diskless, no delay: each SYNC starts at once (what redis-cli --rdb is timed against too).
    await admin.config('SET', 'repl-diskless-sync', 'yes')
    await admin.config('SET', 'repl-diskless-sync-delay', '0')
    expected = await digestsByKey([admin])
  }, 120_000)
  afterAll(async () => {
    await source?.down()
  })

  /** Slow the read down to a few seconds: scan by --max-ops, sync by a delay per key in the server's fork. */
  async function slowArgs(method: 'scan' | 'sync'): Promise<string[]> {
    if (method === 'scan') return ['--max-ops', '4000']
    await admin.config('SET', 'rdb-key-save-delay', '500')
    return []
  }

  function start(method: 'scan' | 'sync', out: string, extra: string[]) {
    return startCli(['snapshot', 'create', source.url, '--out', out, '--method', method, '--json', ...extra])
  }

  /** Until the run has read `keys` keys (its progress events). */
  async function readPast(run: ReturnType<typeof startCli>, keys: number): Promise<void> {
    await run.waitForStderr((l) => /"type":"progress"/.test(l) && JSON.parse(l).done > keys, 60_000)
  }

  /** Files of `dir` named after `name` (the final one, or a temporary one). */
  const filesNamed = (name: string) => readdirSync(dir).filter((f) => f.includes(name))

  /** The file as a fresh redis-server loads it, key by key, against the source. */
  async function expectSameKeys(file: string): Promise<void> {
    const loaded = await serverFromRdb(file)
    try {
      expect(await digestsByKey([loaded.client])).toEqual(expected)
    } finally {
      await loaded.stop()
    }
  }

  const errorOf = (r: CliResult) =>
    r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.type === 'error')

  it.each([
    // A close, or a reset (read ECONNRESET): the node named either way.
    ['scan', /^127\.0\.0\.1:\d+ closed the connection during the scan( \(read ECONNRESET\))?$/],
    ['sync', /^the RDB streamed by the server cannot be read: the RDB is truncated/],
  ] as const)(
    '--method %s: the source restarted mid-read fails the run (exit 5), no file; the next run holds every key',
    async (method, message) => {
      const out = join(dir, `restarted-${method}.rdb`)
      const run = start(method, out, await slowArgs(method))
      await readPast(run, 500)
      await restartStandalone(source)
      admin = await source.admin()
      const r = await run.done
      expect(r.code, r.stderr.slice(-2000)).toBe(5)
      expect(errorOf(r)?.message).toMatch(message)
      expect(filesNamed(`restarted-${method}`)).toEqual([])

      await admin.config('SET', 'repl-diskless-sync-delay', '0')
      const again = await runCli(['snapshot', 'create', source.url, '--out', out, '--method', method])
      expect(again.code, again.stderr.slice(-2000)).toBe(0)
      expect(again.stdout).toContain(`${out}: ${KEYS} keys (${KEYS / 5} expiring)`)
      await expectSameKeys(out)
    },
    120_000,
  )

  it.each(['scan', 'sync'] as const)(
    '--method %s: kvtop killed (-9) mid-read leaves the earlier file under the final name as it was',
    async (method) => {
      const out = join(dir, `killed-${method}.rdb`)
      const earlier = Buffer.from('the earlier file, not an RDB')
      writeFileSync(out, earlier)
      const run = start(method, out, [...(await slowArgs(method)), '--force'])
      try {
        await readPast(run, 500)
        run.kill('SIGKILL')
        expect((await run.done).code).toBe(null)
      } finally {
        await admin.config('SET', 'rdb-key-save-delay', '0')
      }
      expect(sha(readFileSync(out))).toBe(sha(earlier))
      // The server's fork may still be streaming to the dead connection: wait for it to end.
      for (let i = 0; i < 100 && /rdb_bgsave_in_progress:1/.test(await admin.info('persistence')); i++)
        await sleep(100)

      const again = await runCli([
        'snapshot',
        'create',
        source.url,
        '--out',
        out,
        '--method',
        method,
        '--force',
      ])
      expect(again.code, again.stderr.slice(-2000)).toBe(0)
      await expectSameKeys(out)
    },
    120_000,
  )
})

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
