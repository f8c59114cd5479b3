import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeQuietly, openNode } from '../../../../src/connect/client.js'
import { parseClusterNodes } from '../../../../src/connect/cluster-parsers.js'
import { isProcessAlive } from '../../../../src/sandbox/process.js'
import { adminSpec, readPid, startNode, waitForPing } from '../../../../src/sandbox/sandbox.js'
import { runCli, startCli, type CliResult } from '../../../helpers/cli.js'
import { digestsByKey, seedKeys } from '../../../helpers/dataset.js'
import { adminClusterClient, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * Resuming a migration after the source changed under it while kvtop was not running: a source
 * primary restarted from its RDB on the same port (a new server process: the old SCAN cursor means
 * nothing there), and a failover in a cluster source (another address now primary for the same
 * slots). kvtop is SIGKILLed mid-copy each time; the same command then finishes with no key missing,
 * compared key by key (DEBUG DIGEST-VALUE) on the current primaries.
 */
let mdb: TestSandbox
let dir: string
const opened: (Redis | Cluster)[] = []
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvtop-resume-'))
  mdb = await startSandbox({ shards: 3, replicas: 0, flavor: 'memorydb' })
})

afterAll(async () => {
  for (const c of opened) c.disconnect()
  await mdb?.down()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function admin(sb: TestSandbox, port: number): Promise<Redis> {
  const r = await openNode(adminSpec(sb.state), { host: '127.0.0.1', port })
  opened.push(r)
  return r
}

/** The primaries now (after failovers), from the cluster itself; the first node of a standalone. */
async function currentPrimaries(sb: TestSandbox): Promise<number[]> {
  if (sb.state.shards === 0) return [sb.state.nodes[0].port]
  const text = String(await (await admin(sb, sb.state.nodes[0].port)).call('CLUSTER', 'NODES'))
  return parseClusterNodes(text)
    .filter((r) => r.role === 'primary' && r.slots.length)
    .map((r) => r.port)
}

async function dataOf(sb: TestSandbox): Promise<Map<string, string>> {
  return digestsByKey(await Promise.all((await currentPrimaries(sb)).map((p) => admin(sb, p))))
}

/** Every key of the source on the target, same value and expiry state, nothing else there. */
async function sameData(source: TestSandbox): Promise<number> {
  const [x, y] = await Promise.all([dataOf(source), dataOf(mdb)])
  const diff = [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
  expect(diff.slice(0, 5), `${diff.length} keys differ`).toEqual([])
  return x.size
}

function clusterClient(sb: TestSandbox): Cluster {
  const c = adminClusterClient(sb)
  opened.push(c)
  return c
}

/** Keys of every type; names with NUL, CR LF and invalid UTF-8; some with TTLs. */
const seed = (db: Redis | Cluster, prefix: string, count: number) =>
  seedKeys(db, prefix, count, ['bytes', 'hash', 'list', 'expiring'])

const savedKeys = (path: string): number => {
  if (!existsSync(path)) return 0
  const c = JSON.parse(readFileSync(path, 'utf8'))
  return Object.values(c.nodes as Record<string, { keys: number }>).reduce((n, s) => n + s.keys, 0)
}

/** Start a throttled run, wait until the checkpoint records `atLeast` keys, SIGKILL it. */
async function killMidCopy(args: string[], checkpoint: string, atLeast: number, total: number) {
  const run = startCli(args)
  const deadline = Date.now() + 60_000
  while (savedKeys(checkpoint) < atLeast && Date.now() < deadline) await sleep(100)
  run.kill('SIGKILL')
  const ended = await run.done
  expect(ended.code, ended.stdout + ended.stderr.slice(-2000)).toBe(null)
  const saved = savedKeys(checkpoint)
  expect(saved).toBeGreaterThanOrEqual(atLeast)
  expect(saved).toBeLessThan(total)
  expect(existsSync(`${checkpoint}.lock`)).toBe(true) // left behind by the killed run
  return { pid: run.pid, checkpoint: JSON.parse(readFileSync(checkpoint, 'utf8')) }
}

/** SAVE, stop the server, start it again on the same port with the same config: it loads its RDB. */
async function restartFromRdb(sb: TestSandbox, port: number): Promise<void> {
  const node = sb.state.nodes.find((n) => n.port === port)!
  const pid = readPid(node)!
  const conn = await openNode(adminSpec(sb.state), { host: '127.0.0.1', port })
  try {
    await conn.call('SAVE')
    await conn.call('SHUTDOWN', 'NOSAVE').catch(() => {})
  } finally {
    await closeQuietly(conn)
  }
  for (let i = 0; i < 200 && isProcessAlive(pid); i++) await sleep(50)
  expect(isProcessAlive(pid)).toBe(false)
  startNode(sb.state, node, sb.state.shards > 0)
  await waitForPing(sb.state, node)
  expect(readPid(node)).not.toBe(pid)
  await clusterSettled(sb)
}

/** Every node up, agreeing that every slot is served (cluster), not loading. */
async function clusterSettled(sb: TestSandbox, primaryPort?: number): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    let ok = true
    for (const n of sb.state.nodes) {
      const conn = await openNode(adminSpec(sb.state), { host: '127.0.0.1', port: n.port }).catch(
        () => undefined,
      )
      if (!conn) {
        ok = false
        break
      }
      try {
        const info = String(await conn.info())
        if (/loading:1/.test(info)) ok = false
        if (sb.state.shards > 0) {
          const ci = String(await conn.call('CLUSTER', 'INFO'))
          if (!/cluster_state:ok/.test(ci)) ok = false
          if (primaryPort !== undefined) {
            const me = parseClusterNodes(String(await conn.call('CLUSTER', 'NODES'))).find(
              (r) => r.port === primaryPort,
            )
            if (me?.role !== 'primary' || !me.slots.length) ok = false
          }
        }
      } finally {
        await closeQuietly(conn)
      }
    }
    if (ok) return
    if (Date.now() > deadline) throw new Error(`sandbox ${sb.name} did not settle`)
    await sleep(200)
  }
}

const warnings = (r: CliResult) =>
  r.stderr
    .split('\n')
    .filter((l) => l.includes('"type":"warning"'))
    .map((l) => String(JSON.parse(l).message))

/**
 * `migrate run` from `src` to the shared target, slow enough (--max-ops, per source node; a scanned key
 * costs two ops) for a kill to land mid-copy: the checkpoint is written every 2 s, so the copy must
 * last several of those or the first checkpoint past `atLeast` can already hold every key.
 */
const throttledRun = (src: TestSandbox, checkpoint: string, maxOps = 2000): string[] => [
  'migrate',
  'run',
  '--source',
  src.url,
  '--target',
  mdb.url,
  '--checkpoint',
  checkpoint,
  '--max-ops',
  String(maxOps),
  '--json',
]

async function flushTarget(): Promise<void> {
  for (const n of mdb.state.nodes) await (await admin(mdb, n.port)).flushall()
}

describe('migrate run: resuming after the source changed under the checkpoint', () => {
  it('SIGKILL mid-copy, a cluster source primary restarted from its RDB on the same port: that shard starts over at cursor 0 with a warning naming it, the other resumes; no key missing', async () => {
    const src = await startSandbox({ shards: 2, replicas: 0, flavor: 'elasticache' })
    try {
      await flushTarget()
      const keys = 8000
      await seed(clusterClient(src), 'rs', keys)
      const checkpoint = join(dir, 'restart.ckpt')
      const args = throttledRun(src, checkpoint, 1000) // 1,000 keys/s over two shards: ~8 s
      const killed = await killMidCopy(args, checkpoint, 1500, keys)
      expect(killed.checkpoint.version).toBe(2)
      const victim = src.state.nodes[0].port
      const address = `127.0.0.1:${victim}`
      const [key, before] = Object.entries(
        killed.checkpoint.shards as Record<string, { address: string; runId: string; replid: string }>,
      ).find(([, s]) => s.address === address)!
      expect(key).toMatch(/^0-\d+$/) // keyed by the shard's slots
      expect(before.runId).toMatch(/^[0-9a-f]{40}$/)
      const other = Object.entries(killed.checkpoint.shards as Record<string, { runId: string }>).find(
        ([k]) => k !== key,
      )!

      await restartFromRdb(src, victim)
      expect(await (await admin(src, victim)).dbsize()).toBeGreaterThan(keys / 3) // its RDB came back

      const r = await runCli(args, { timeoutMs: 180_000 })
      expect(r.code, r.stderr.slice(-3000)).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({ resumed: true, restarted: [address], errors: { total: 0 } })
      expect(report.verify.identical).toBe(true)
      const said = warnings(r)
      expect(said).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^source node 127\\.0\\.0\\.1:${victim} \\(slots ${key}\\) is not the server process the checkpoint was written with \\(run_id ${before.runId.slice(0, 8)} -> [0-9a-f]{8}: restarted or failed over\\): its scan starts over from the beginning`,
          ),
        ),
      )
      // The killed run's lock was taken over, and said so.
      expect(said).toContainEqual(
        expect.stringMatching(new RegExp(`locked by pid ${killed.pid} .*no longer running: lock taken over`)),
      )
      // Only the restarted shard was scanned again: the other kept its cursor.
      const after = JSON.parse(readFileSync(checkpoint, 'utf8'))
      expect(after.finished).toBe(true)
      expect(after.shards[key].runId).not.toBe(before.runId)
      expect(after.shards[other[0]].runId).toBe(other[1].runId)
      expect(existsSync(`${checkpoint}.lock`)).toBe(false)
      expect(await sameData(src)).toBe(keys)
    } finally {
      await src.down()
    }
  }, 240_000)

  it('a standalone source restarted from its RDB (SHUTDOWN SAVE) behind the same address: resumed from cursor 0, no key missing', async () => {
    const src = await startSandbox({ shards: 0, replicas: 0, flavor: 'elasticache' })
    try {
      await flushTarget()
      const keys = 6000
      await seed(await src.admin(), 'sa', keys)
      const checkpoint = join(dir, 'standalone.ckpt')
      const args = throttledRun(src, checkpoint)
      await killMidCopy(args, checkpoint, 1000, keys)
      const port = src.state.nodes[0].port
      const node = src.state.nodes[0]
      const pid = readPid(node)!
      const conn = await openNode(adminSpec(src.state), { host: '127.0.0.1', port })
      await conn.call('SHUTDOWN', 'SAVE').catch(() => {})
      await closeQuietly(conn)
      for (let i = 0; i < 200 && isProcessAlive(pid); i++) await sleep(50)
      startNode(src.state, node, false)
      await waitForPing(src.state, node)
      await clusterSettled(src)

      const r = await runCli(args, { timeoutMs: 180_000 })
      expect(r.code, r.stderr.slice(-3000)).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ resumed: true, restarted: [`127.0.0.1:${port}`] })
      expect(warnings(r)).toContainEqual(
        expect.stringMatching(new RegExp(`^source node 127\\.0\\.0\\.1:${port} is not the server process`)),
      )
      expect(await sameData(src)).toBe(keys)
    } finally {
      await src.down()
    }
  }, 180_000)

  it('SIGKILL mid-copy, then a failover in the cluster source (a replica now primary for the same slots): the resume is not refused, that shard starts over on its new primary, no key missing', async () => {
    const src = await startSandbox({ shards: 2, replicas: 1, flavor: 'elasticache' })
    try {
      await flushTarget()
      const keys = 8000
      await seed(clusterClient(src), 'fo', keys)
      const checkpoint = join(dir, 'failover.ckpt')
      const args = throttledRun(src, checkpoint, 1000)
      const killed = await killMidCopy(args, checkpoint, 1500, keys)
      const oldPrimary = src.state.nodes.find((n) => n.role === 'primary' && n.shard === 0)!.port
      const replica = src.state.nodes.find((n) => n.role === 'replica' && n.shard === 0)!.port
      const [key] = Object.entries(killed.checkpoint.shards as Record<string, { address: string }>).find(
        ([, s]) => s.address === `127.0.0.1:${oldPrimary}`,
      )!
      await (await admin(src, replica)).call('CLUSTER', 'FAILOVER')
      await clusterSettled(src, replica)
      expect(await currentPrimaries(src)).toContain(replica)
      expect(await currentPrimaries(src)).not.toContain(oldPrimary)

      const r = await runCli(args, { timeoutMs: 180_000 })
      expect(r.code, r.stderr.slice(-3000)).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report).toMatchObject({
        resumed: true,
        restarted: [`127.0.0.1:${replica}`],
        errors: { total: 0 },
      })
      expect(report.verify.identical).toBe(true)
      expect(warnings(r)).toContainEqual(
        expect.stringContaining(
          `source node 127.0.0.1:${replica} (slots ${key}) is not the server process the checkpoint was written with (primary 127.0.0.1:${oldPrimary} -> 127.0.0.1:${replica}: restarted or failed over)`,
        ),
      )
      const after = JSON.parse(readFileSync(checkpoint, 'utf8'))
      expect(after).toMatchObject({ finished: true })
      expect(after.shards[key].address).toBe(`127.0.0.1:${replica}`)
      expect(await sameData(src)).toBe(keys)
    } finally {
      await src.down()
    }
  }, 240_000)
})
