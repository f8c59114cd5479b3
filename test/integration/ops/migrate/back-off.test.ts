import type { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../../../helpers/cli.js'
import { binaryKey, digestsByKey } from '../../../helpers/dataset.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * The copier slows down when the source answers slower (the migration must not become the
 * incident), and only then: the pages a copier keeps in flight on its connection wait for the
 * source to answer the ones before them, and a scan's last page may hold a single key; neither is
 * the source slowing down. Each copy ends with a key-by-key comparison (DEBUG DIGEST-VALUE).
 */
let source: TestSandbox
let target: TestSandbox

const pair = () => ['--source', `sandbox:${source.name}`, '--target', `sandbox:${target.name}`]
/** The messages of the back-off warnings in a --json run's stderr. */
const backOffs = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === 'warning' && /backing off/.test(e.message))
    .map((e) => e.message as string)

async function sameData(): Promise<number> {
  const [x, y] = await Promise.all([
    digestsByKey([await source.admin()]),
    digestsByKey([await target.admin()]),
  ])
  const diff = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
  expect(diff.slice(0, 5), `${diff.length} keys differ`).toEqual([])
  return x.size
}

/** `count` binary-named strings of `bytes` bytes each. */
async function seedStrings(db: Redis, count: number, bytes: number): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    const sent: Promise<unknown>[] = []
    for (let i = start; i < Math.min(count, start + 500); i++)
      sent.push(db.set(binaryKey('b', i), Buffer.alloc(bytes, i & 0xff)))
    await Promise.all(sent)
  }
}

/** The pages a SCAN with COUNT `count` returns, in order (as the copier reads them). */
async function scanPages(db: Redis, count: number): Promise<Buffer[][]> {
  const pages: Buffer[][] = []
  let cursor = '0'
  do {
    const [next, keys] = (await db.scanBuffer(cursor, 'COUNT', count)) as [Buffer, Buffer[]]
    cursor = next.toString()
    pages.push(keys)
  } while (cursor !== '0')
  return pages
}

/** Until db 0's table is not being rehashed: its SCAN pages stay as they are until keys change. */
async function untilRehashed(db: Redis): Promise<void> {
  for (let i = 0; i < 100 && /rehashing/.test(String(await db.call('DEBUG', 'HTSTATS', '0'))); i++)
    await new Promise((r) => setTimeout(r, 50))
}

beforeAll(async () => {
  ;[source, target] = await Promise.all([
    startSandbox({ shards: 0, replicas: 0 }),
    startSandbox({ shards: 0, replicas: 0 }),
  ])
})

afterAll(async () => {
  await Promise.all([source?.down(), target?.down()])
})

beforeEach(async () => {
  await Promise.all([(await source.admin()).flushall(), (await target.admin()).flushall()])
})

describe('migrate run: the copier backs off when the source slows down', () => {
  it('a fast source: pages of 4 MB queued behind one another, then a last page of one key: no back-off, every key copied', async () => {
    const src = await source.admin()
    // The copier reads SCAN pages of 1000 keys: keep one key of the last page, so that the last
    // read asks for one key behind pages of a thousand (a few keys more if that page was empty).
    let pages: Buffer[][] = []
    for (let more = 0; !pages.at(-1)?.length; more += 20) {
      await seedStrings(src, 4000 + more, 4096)
      await untilRehashed(src)
      pages = await scanPages(src, 1000)
    }
    expect(pages.length).toBeGreaterThanOrEqual(4)
    if (pages.at(-1)!.length > 1) await src.del(...pages.at(-1)!.slice(1))
    const sizes = (await scanPages(src, 1000)).map((p) => p.length)
    expect(sizes).toEqual([...pages.slice(0, -1).map((p) => p.length), 1])

    const r = await runCli(['migrate', 'run', ...pair(), '--no-verify', '--json'], { timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(backOffs(r.stderr)).toEqual([])
    const keys = sizes.reduce((a, b) => a + b, 0)
    expect(JSON.parse(r.stdout).keys).toBe(keys)
    expect(await sameData()).toBe(keys)
  })

  it('a source that stops answering for 0.3 s at a time mid-copy (DEBUG SLEEP): the copy backs off, says so naming the node, and copies every key', async () => {
    const src = await source.admin()
    await seedStrings(src, 6000, 100)
    // Paced (--max-ops: 2000 keys a second) so that the source is slowed while the copy runs;
    // the pacing itself is no slowness of the source. Then the source sleeps 0.3 s of every 0.4.
    const run = startCli(['migrate', 'run', ...pair(), '--no-verify', '--max-ops', '4000', '--json'])
    await run.waitForStderr((l) => /"type":"progress"/.test(l) && JSON.parse(l).done >= 1000, 30_000)
    const sleeper = await source.admin()
    let slow = true
    const slowing = (async () => {
      while (slow) {
        await sleeper.call('DEBUG', 'SLEEP', '0.3')
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    try {
      const r = await run.done
      expect(r.code, r.stderr).toBe(0)
      const warned = backOffs(r.stderr)
      expect(warned.length).toBeGreaterThanOrEqual(1)
      expect(warned[0]).toMatch(
        new RegExp(
          `^127\\.0\\.0\\.1:${source.summary.nodes[0].port} answers slower \\(\\d+\\.\\d\\d ms/key\\): backing off$`,
        ),
      )
    } finally {
      slow = false
      await slowing
    }
    expect(await sameData()).toBe(6000)
  })
})
