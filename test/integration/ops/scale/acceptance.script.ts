/**
 * The full acceptance run, by hand (heavy: not part of `vitest run`):
 *
 *   npm run build && npx tsx test/integration/ops/scale/acceptance.script.ts [--keys 200000] [--rate 1000]
 *
 * A 3-shard x 1-replica sandbox with 200k keys under `sandbox load` and a writer that records every
 * acknowledged write: 3 -> 5 -> 3 shards and 1 -> 2 -> 1 replicas, then every acknowledged write
 * must be present, slots balanced within 2 %, and `redis-cli --cluster check` clean.
 * Prints one JSON document with the timings and checks; exits 1 when a check fails.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLoad } from '../../../../src/sandbox/load.js'
import { sandboxDown, sandboxUp } from '../../../../src/sandbox/sandbox.js'
import { readState } from '../../../../src/sandbox/state.js'
import { runCli } from '../../../helpers/cli.js'
import { AckWriter } from './ack-writer.js'
import { clusterClient, redisCliCheck } from './helpers.js'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

const keys = arg('keys', 200_000)
const rate = arg('rate', 1000)
const root = mkdtempSync(join(tmpdir(), 'kvtop-scale-acceptance-'))
process.env.KVTOP_SANDBOX_DIR = join(root, 'sandboxes')
const name = 'acceptance'
const steps: Record<string, unknown>[] = []
const checks: Record<string, boolean> = {}
let failed = false

try {
  const t0 = Date.now()
  const summary = await sandboxUp({ name, shards: 3, replicas: 1, flavor: 'redis' })
  const url = summary.url
  const seedPort = summary.nodes[0].port
  const seeded = await runLoad({ url }, { rate: 0, durationSeconds: 0, keys, seed: 3 })
  process.stderr.write(
    `sandbox up and ${seeded.seeded} keys seeded in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`,
  )

  // Live traffic: `sandbox load` (mixed reads and writes over the seeded keys) and the ack writer.
  const loadStop = new AbortController()
  const load = runLoad({ url }, { rate, durationSeconds: Infinity, keys, seed: 4, signal: loadStop.signal })
  const writerClient = await clusterClient(seedPort)
  const writer = new AckWriter(writerClient, { prefix: 'acceptance', concurrency: 8, pauseMs: 5 })
  writer.start()

  const scale = async (label: string, args: string[]) => {
    const started = Date.now()
    const r = await runCli(['scale', url, ...args, '--yes', '--json'], { timeoutMs: 1_800_000 })
    const seconds = (Date.now() - started) / 1000
    let result: any
    try {
      result = JSON.parse(r.stdout).result
    } catch {
      result = undefined
    }
    const step = {
      step: label,
      exit: r.code,
      seconds,
      complete: result?.complete,
      slotsMoved: result?.slotsMoved,
      keysMoved: result?.keysMoved,
      migrateSeconds: result?.migrateSeconds,
      keysPerSecond: result?.keysPerSecond,
      shards: result?.shards?.map((s: any) => ({
        address: s.address,
        slots: s.slotCount,
        keys: s.keys,
        replicas: s.replicas,
      })),
      balance: result?.balance,
      added: result?.added?.length,
      removed: result?.removed?.length,
      bigKeys: result?.bigKeys?.length,
      warnings: result?.warnings,
      ...(r.code === 0 ? {} : { stderr: r.stderr.slice(-2000) }),
    }
    steps.push(step)
    process.stderr.write(
      `${label}: exit ${r.code} in ${seconds.toFixed(1)}s, ${step.keysMoved ?? 0} keys moved\n`,
    )
    if (r.code !== 0 || !result?.complete) throw new Error(`${label} failed: ${r.stderr.slice(-2000)}`)
    return result
  }

  try {
    await scale('3 -> 5 shards', ['--shards', '5'])
    await scale('replicas 1 -> 2', ['--replicas', '2'])
    await scale('replicas 2 -> 1', ['--replicas', '1'])
    const last = await scale('5 -> 3 shards', ['--shards', '3'])
    checks.balancedWithin2Percent = last.balance.balanced && last.balance.maxDeviationPercent <= 2
    checks.threeShardsOneReplicaEach =
      last.shards.length === 3 && last.shards.every((s: { replicas: number }) => s.replicas === 1)
  } finally {
    await writer.stop()
    loadStop.abort()
  }
  const loadReport = await load
  const reader = await clusterClient(seedPort)
  const ack = await writer.check(reader)
  reader.disconnect()
  writerClient.disconnect()
  const cli = redisCliCheck(seedPort)
  const state = readState(name)!
  checks.everyAcknowledgedWritePresent = ack.missing.length === 0 && ack.wrong.length === 0
  checks.countersConsistent = ack.counterViolations.length === 0
  checks.redisCliCheckClean = cli.clean
  checks.sandboxStateMatches = state.nodes.length === 6 && state.shards === 3 && state.replicas === 1
  failed = Object.values(checks).some((v) => !v)
  process.stdout.write(
    JSON.stringify(
      {
        keys,
        loadRate: rate,
        steps,
        load: { ops: loadReport.ops, errors: loadReport.errors, errorKinds: loadReport.errorKinds },
        writer: {
          acked: ack.acked,
          failed: ack.failed,
          errorKinds: ack.errorKinds,
          missing: ack.missing.slice(0, 20),
          wrong: ack.wrong.slice(0, 20),
          counterViolations: ack.counterViolations,
        },
        checks,
        redisCliCheck: cli.clean ? 'clean' : cli.output,
        totalSeconds: (Date.now() - t0) / 1000,
      },
      null,
      2,
    ) + '\n',
  )
} catch (err) {
  failed = true
  process.stdout.write(JSON.stringify({ error: (err as Error).message, steps, checks }, null, 2) + '\n')
} finally {
  await sandboxDown(name).catch(() => {})
  rmSync(root, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
