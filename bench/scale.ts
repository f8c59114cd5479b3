import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClusterAdmin } from '../src/ops/scale/admin.js'
import { joinNodes, waitClusterOk } from '../src/ops/scale/nodes.js'
import { addSandboxNodes } from '../src/sandbox/grow.js'
import { runLoad } from '../src/sandbox/load.js'
import { adminSpec, sandboxDown, sandboxUp } from '../src/sandbox/sandbox.js'
import { readState } from '../src/sandbox/state.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'
import { MEASURED_BIN } from './lib-process.js'

/**
 * `npm run bench -- scale [--scale S]`: slot migration keys/s, kvtop scale against
 * `redis-cli --cluster rebalance`, on the same cluster and the same data in one run.
 *
 * A 3-shard sandbox is seeded with 200k keys x S of every type (`sandbox load`), and a fourth,
 * empty primary joins it. Replica migration is switched off so that a drained primary stays an
 * empty primary for the next step. Then, one after the other:
 *   1. redis-cli --cluster rebalance --cluster-use-empty-masters   (scale-out: ~1/4 of the keys move)
 *   2. redis-cli --cluster rebalance --cluster-weight NEW=0          (scale-in: they move back)
 *   3. kvtop scale --rebalance                                       (the same scale-out)
 *   4. kvtop scale --rebalance --weights NEW=0                       (the same scale-in)
 * Each tool is timed as a user would see it: the whole process, start to exit. Keys moved are
 * counted on the new primary (DBSIZE) before or after each step.
 */

interface Timed {
  seconds: number
  code: number | null
  stdout: string
  stderr: string
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, code, stdout, stderr })
    })
  })
}

function must(step: string, t: Timed): Timed {
  if (t.code !== 0) throw new Error(`${step} exited ${t.code}: ${(t.stderr || t.stdout).slice(-2000)}`)
  return t
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const keys = Math.max(1000, Math.round(200_000 * options.scale))
  const root = mkdtempSync(join(tmpdir(), 'kvtop-bench-scale-'))
  const env = { ...process.env, KVTOP_SANDBOX_DIR: join(root, 'sandboxes'), NO_COLOR: '1' }
  const name = 'bench-scale'
  let admin: ClusterAdmin | undefined
  try {
    const summary = await sandboxUp({ name, shards: 3, replicas: 0, flavor: 'redis', env })
    const seedPort = summary.nodes[0].port
    const url = summary.url
    const seeded = await runLoad({ url }, { rate: 0, durationSeconds: 0, keys, seed: 11 })
    const state = readState(name, env)!
    admin = new ClusterAdmin(adminSpec(state, 10_000), { host: '127.0.0.1', port: seedPort })
    const [extra] = await addSandboxNodes(name, 1, env)
    const extraNode = { host: '127.0.0.1', port: extra.port }
    const [joined] = await joinNodes(admin, { host: '127.0.0.1', port: seedPort }, [extraNode], 60_000)
    await waitClusterOk(admin, [extraNode], 60_000)
    const topology = await admin.topology()
    for (const n of topology.nodes)
      await admin.call(n, ['CONFIG', 'SET', 'cluster-allow-replica-migration', 'no'])
    const dbsize = async () => Number(await admin!.call(extraNode, ['DBSIZE']))
    const totalKeys = async () => {
      let n = 0
      for (const p of (await admin!.topology()).nodes) n += Number(await admin!.call(p, ['DBSIZE']))
      return n
    }
    const total = await totalKeys()
    const seedAddress = `127.0.0.1:${seedPort}`

    // 1, 2: redis-cli.
    const cliOut = must(
      'redis-cli rebalance (scale-out)',
      await timed('redis-cli', ['--cluster', 'rebalance', seedAddress, '--cluster-use-empty-masters'], env),
    )
    const cliOutKeys = await dbsize()
    const cliIn = must(
      'redis-cli rebalance (scale-in)',
      await timed(
        'redis-cli',
        ['--cluster', 'rebalance', seedAddress, '--cluster-weight', `${joined.id}=0`],
        env,
      ),
    )
    const cliInKeys = cliOutKeys - (await dbsize())
    // 3, 4: kvtop.
    const kvOut = must(
      'kvtop scale --rebalance (scale-out)',
      await timed(process.execPath, [MEASURED_BIN, 'scale', url, '--rebalance', '--yes', '--json'], env),
    )
    const kvOutKeys = await dbsize()
    const kvIn = must(
      'kvtop scale --rebalance --weights NEW=0 (scale-in)',
      await timed(
        process.execPath,
        [
          MEASURED_BIN,
          'scale',
          url,
          '--rebalance',
          '--weights',
          `${extraNode.host}:${extraNode.port}=0`,
          '--yes',
          '--json',
        ],
        env,
      ),
    )
    const kvInKeys = kvOutKeys - (await dbsize())
    const kvOutReport = JSON.parse(kvOut.stdout).result
    const kvInReport = JSON.parse(kvIn.stdout).result
    const after = await totalKeys()

    const row = (label: string, kv: Timed, kvKeys: number, cli: Timed, cliKeys: number): BenchRow => {
      const kvRate = kvKeys / kv.seconds
      const cliRate = cliKeys / cli.seconds
      const ratio = kvRate / cliRate
      return {
        case: label,
        kvtop: { seconds: kv.seconds, rate: kvRate, unit: 'keys/s' },
        anchor: { name: 'redis-cli --cluster rebalance', seconds: cli.seconds, rate: cliRate },
        ratio,
        goal: '>= 1.0x',
        met: ratio >= 1,
      }
    }
    return {
      name: 'scale: slot migration keys/s',
      rows: [
        row(
          `scale-out 3 -> 4 shards (${kvOutKeys} / ${cliOutKeys} keys moved)`,
          kvOut,
          kvOutKeys,
          cliOut,
          cliOutKeys,
        ),
        row(
          `scale-in: drain 1 of 4 shards (${kvInKeys} / ${cliInKeys} keys moved)`,
          kvIn,
          kvInKeys,
          cliIn,
          cliInKeys,
        ),
      ],
      notes: [
        `${keys} keys seeded by sandbox load (${seeded.seeded} acknowledged, ${total} present), every type, TTLs and binary keys; redis-server 3 shards + 1 empty primary, no replicas, loopback.`,
        'Times are whole processes (start to exit), as a user waits for them; each tool also checks the cluster before moving.',
        `kvtop's own migration phase: ${kvOutReport.migrateSeconds.toFixed(2)} s (${kvOutReport.keysPerSecond} keys/s) out, ${kvInReport.migrateSeconds.toFixed(2)} s (${kvInReport.keysPerSecond} keys/s) in; defaults --batch 1000 --slot-group 128 --parallel 4. redis-cli uses its defaults (--cluster-pipeline 10).`,
        `Keys present before and after all four moves: ${total} -> ${after} (keys with a TTL may expire meanwhile).`,
      ],
    }
  } finally {
    await admin?.close()
    await sandboxDown(name, env).catch(() => {})
    rmSync(root, { recursive: true, force: true })
  }
}
