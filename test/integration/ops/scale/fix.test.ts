import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseClusterNodes } from '../../../../src/connect/cluster-parsers.js'
import { runCli } from '../../../helpers/cli.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { AckWriter } from './ack-writer.js'
import { clusterClient, redisCliCheck } from './helpers.js'

const BIG_SET_MEMBERS = 1_000_000

const BIN = fileURLToPath(new URL('../../../../bin/kvtop.js', import.meta.url))
const HOT_KEYS = 12_000

/** A hash tag whose keys land in `slot`. */
function tagFor(slot: number): string {
  for (let i = 0; ; i++) if (calculateSlot(`t${i}`) === slot) return `t${i}`
}

async function fill(node: Redis, keys: string[], value: (k: string) => string): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const p = node.pipeline()
    for (const k of keys.slice(i, i + 1000)) p.set(k, value(k))
    await p.exec()
  }
}

async function openSlots(node: Redis): Promise<number[]> {
  const me = parseClusterNodes(String(await node.call('CLUSTER', 'NODES'))).find((r) => r.myself)!
  return [...me.importing.map((i) => i.slot), ...me.migrating.map((m) => m.slot)]
}

describe('kvtop scale --fix after a move killed mid-slot, and big keys', { timeout: 240_000 }, () => {
  let sb: TestSandbox
  let reader: Cluster
  const clients: Cluster[] = []
  const children: ReturnType<typeof spawn>[] = []

  beforeAll(async () => {
    sb = await startSandbox({ shards: 2, replicas: 0 })
    reader = await clusterClient(sb.summary.nodes[0].port)
    clients.push(reader)
  })

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    for (const c of clients) c.disconnect()
    await sb?.down()
  })

  it('reports nothing to fix on a settled cluster', async () => {
    const r = await runCli(['scale', sb.url, '--fix', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).fix.openSlots).toBe(0)
  })

  it('Ctrl-C stops after the slot in flight; a scale killed mid-slot leaves it open; --fix finishes it without losing a key; the scale then resumes', async () => {
    // 2 -> 3 moves 5462, 5463, ... from the first shard: fill those slots so each move takes a while.
    const primary = await sb.admin(sb.summary.nodes[0].port)
    const hot: string[] = []
    for (const slot of [5462, 5463]) {
      const tag = tagFor(slot)
      const keys = Array.from({ length: HOT_KEYS }, (_, i) => `{${tag}}:${i}`)
      await fill(primary, keys, (k) => `hot-${k}`)
      hot.push(...keys)
    }
    const writerClient = await clusterClient(sb.summary.nodes[0].port)
    clients.push(writerClient)
    const writer = new AckWriter(writerClient, { prefix: 'fixack', concurrency: 8, pauseMs: 2 })
    writer.start()
    /**
     * Start a scale and send `signal` once `slot` is part way (open, keys on both sides). Small
     * MIGRATE batches keep the slot open long enough to be seen on a loaded machine.
     */
    const interruptMidSlot = async (slot: number, signal: NodeJS.Signals) => {
      const child = spawn(
        process.execPath,
        [
          BIN,
          'scale',
          sb.url,
          '--shards',
          '3',
          '--yes',
          '--batch',
          '2',
          '--slot-group',
          '1',
          '--parallel',
          '1',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
      )
      children.push(child)
      let stderr = ''
      child.stderr!.on('data', (d) => (stderr += d))
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
      const deadline = Date.now() + 60_000
      let sent = false
      while (Date.now() < deadline && child.exitCode === null) {
        if ((await openSlots(primary)).includes(slot)) {
          // Frozen while looked at: on a loaded machine the slot could otherwise finish between
          // this look and the signal.
          child.kill('SIGSTOP')
          const left = Number(await primary.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))
          if (left > 0 && left < HOT_KEYS) {
            child.kill(signal)
            sent = true
            child.kill('SIGCONT')
            break
          }
          child.kill('SIGCONT')
        }
        await new Promise((r) => setTimeout(r, 10))
      }
      const code = await exited
      expect(sent, stderr).toBe(true)
      return { code, stderr }
    }
    try {
      // Ctrl-C: the slot in flight finishes, nothing is left open, the command says how to resume.
      const stopped = await interruptMidSlot(5462, 'SIGINT')
      expect(stopped.code, stopped.stderr).toBe(5)
      expect(stopped.stderr).toMatch(/Run the same command again/)
      expect(await openSlots(primary)).toEqual([])
      expect(Number(await primary.call('CLUSTER', 'COUNTKEYSINSLOT', '5462'))).toBe(0)
      expect(redisCliCheck(sb.summary.nodes[0].port).clean).toBe(true)

      // A crash (SIGKILL) in the middle of the next slot leaves it open.
      await interruptMidSlot(5463, 'SIGKILL')
      expect(await openSlots(primary)).toContain(5463)
      expect(redisCliCheck(sb.summary.nodes[0].port).clean).toBe(false)
      // A plain scale refuses while slots are open.
      const refused = await runCli(['scale', sb.url, '--shards', '3', '--yes'])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(/scale --fix/)

      const fixed = await runCli(['scale', sb.url, '--fix', '--yes', '--json'], { timeoutMs: 120_000 })
      expect(fixed.code, fixed.stderr).toBe(0)
      const fix = JSON.parse(fixed.stdout).fix
      expect(fix.openSlots).toBeGreaterThan(0)
      expect(fix.settled).toBe(fix.openSlots)
      expect(fix.keysMoved).toBeGreaterThan(0)
      expect(fix.slots.find((s: { slot: number }) => s.slot === 5463)).toMatchObject({
        action: 'finish',
        done: true,
      })
      const cli = redisCliCheck(sb.summary.nodes[0].port)
      expect(cli.clean, cli.output).toBe(true)

      // The interrupted scale resumes by running it again.
      const resumed = await runCli(['scale', sb.url, '--shards', '3', '--yes', '--json'], {
        timeoutMs: 120_000,
      })
      expect(resumed.code, resumed.stderr).toBe(0)
      const done = JSON.parse(resumed.stdout).result
      expect(done.shards).toHaveLength(3)
      expect(done.balance.balanced).toBe(true)
    } finally {
      await writer.stop()
    }
    const values = await Promise.all(hot.map((k) => reader.get(k)))
    expect(values.filter((v, i) => v !== `hot-${hot[i]}`)).toEqual([])
    const check = await writer.check(reader)
    expect(check.acked).toBeGreaterThan(100)
    expect(check.missing).toEqual([])
    expect(check.wrong).toEqual([])
    expect(check.counterViolations).toEqual([])
    expect(redisCliCheck(sb.summary.nodes[0].port).clean).toBe(true)
  })

  it('reports a big key MIGRATE cannot move in time, keeps its slot open and served, and --fix finishes it', async () => {
    // Remove a shard other than the one connected to; plant a big set in one of its slots.
    const seed = await sb.admin(sb.summary.nodes[0].port)
    const nodes = parseClusterNodes(String(await seed.call('CLUSTER', 'NODES')))
    const victim = nodes.find(
      (n) => n.role === 'primary' && n.slots.length > 0 && n.port !== sb.summary.nodes[0].port,
    )!
    const [from, to] = victim.slots[0]
    let bigKey = ''
    for (let i = 0; ; i++) {
      const slot = calculateSlot(`big${i}`)
      if (slot >= from && slot <= to) {
        bigKey = `big${i}`
        break
      }
    }
    const slot = calculateSlot(bigKey)
    const owner = await sb.admin(victim.port)
    // Big enough that the target's RESTORE alone outlasts --migrate-timeout 0.1 even on an idle
    // machine (400,000 members were restored within it once).
    for (let i = 0; i < BIG_SET_MEMBERS; i += 10_000)
      await owner.sadd(bigKey, ...Array.from({ length: 10_000 }, (_, j) => `member-${i + j}`))

    const r = await runCli(
      [
        'scale',
        sb.url,
        '--remove',
        `127.0.0.1:${victim.port}`,
        '--yes',
        '--json',
        '--migrate-timeout',
        '0.1',
      ],
      { timeoutMs: 120_000 },
    )
    expect(r.code, r.stderr).toBe(5)
    const result = JSON.parse(r.stdout).result
    expect(result, r.stdout + r.stderr.slice(-2000)).toBeDefined()
    expect(result.complete).toBe(false)
    expect(result.bigKeys).toHaveLength(1)
    expect(result.bigKeys[0]).toMatchObject({ key: bigKey, slot, type: 'set' })
    expect(result.bigKeys[0].bytes).toBeGreaterThan(1_000_000)
    expect(result.openSlots).toEqual([slot])
    expect(result.removed).toEqual([])
    expect(result.warnings.join('\n')).toMatch(/is not removed/)
    // Still served while open.
    expect(await reader.scard(bigKey)).toBe(BIG_SET_MEMBERS)

    const fixed = await runCli(['scale', sb.url, '--fix', '--yes', '--json', '--migrate-timeout', '60'], {
      timeoutMs: 120_000,
    })
    expect(fixed.code, fixed.stderr).toBe(0)
    expect(JSON.parse(fixed.stdout).fix.settled).toBe(1)
    expect(await reader.scard(bigKey)).toBe(BIG_SET_MEMBERS)
    const cli = redisCliCheck(sb.summary.nodes[0].port)
    expect(cli.clean, cli.output).toBe(true)
  })
})
