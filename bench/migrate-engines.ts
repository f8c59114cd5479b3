import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { Deployment } from '../src/connect/deployment.js'
import { keySlot } from '../src/wire/routed-pipeline.js'
import { runMigration } from '../src/ops/migrate/migrate.js'
import type { CopyMode } from '../src/ops/migrate/types.js'
import { createSnapshot } from '../src/ops/snapshot/create.js'
import { SnapshotOutputs } from '../src/ops/snapshot/outputs.js'
import { writeRestoreStreams } from '../src/ops/snapshot/restore.js'
import { cachedValkeyServer, findServerBinary } from '../src/sandbox/binary.js'
import { sandboxDown, sandboxUp, type SandboxSummary } from '../src/sandbox/sandbox.js'
import { describeCpu, measureInProcess } from './lib-cpu.js'
import { clusterImport, loadDataset, PROFILE_DESCRIPTIONS, REDIS_CLI, runTimed } from './lib-dataset.js'
import type { BenchOptions, BenchReport, BenchRow } from './types.js'

/** One 3-shard target cluster: its primaries (connections kept open) and which primary owns each slot. */
interface Target {
  label: string
  primaries: number[]
  conns: Redis[]
  slotOwner: number[]
  /** The primaries' process ids, for their CPU. */
  pids: (number | undefined)[]
}

interface Source {
  label: string
  port: number
  pid?: number
}

interface Copy {
  seconds: number
  rate: number
  keys: number
  ok: boolean
  detail: string
}

const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])
/** redis-cli colours its --cluster output: the colour codes are left out of the notes. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')

/**
 * `npm run bench -- migrate-engines [--scale S]` (Valkey as a first-class engine): the dataset of
 * the `migrate` bench (1M mixed keys at scale 1) on a Redis standalone server and, the same, on a
 * Valkey standalone server, copied into an empty 3-shard cluster of either engine:
 *   - same engine, the baselines: Redis -> Redis (dump; --mode logical; redis-cli --cluster import)
 *     and Valkey -> Valkey (dump), each against the RESTORE-pipe ceiling into its target engine;
 *   - Redis 7.0 -> Valkey 8, dump (Valkey reads Redis 7.0's RDB 10 payloads): against the ceiling
 *     into Valkey, the same-engine DUMP copy into the same Valkey cluster, and redis-cli --cluster
 *     import of the Redis source into it;
 *   - Valkey 8 -> Redis 7.0, --mode logical (Redis 7.0 refuses Valkey's RDB 11 payloads: no
 *     RESTORE ceiling applies): against the same-engine DUMP and logical copies into the same Redis
 *     cluster, and redis-cli --cluster import of the Valkey source when that works across engines
 *     (reported either way). `--mode dump` Valkey -> Redis is tried too: it must be refused before
 *     anything is copied.
 * The ceiling is the migrate bench's: RESTORE commands from a snapshot of the source of the target's
 * engine, split by slot into one stream per target primary and piped by `redis-cli --pipe` into the
 * three primaries at once (stream generation not timed). Each copy is checked: the target's key
 * count equals the source's. Without a valkey-server (KVTOP_VALKEY_SERVER, PATH, or the Valkey build
 * cache) the Valkey rows are skipped, saying so in one line, and the Redis rows are reported.
 */
/** Loads a dataset: run once per data profile. */
export const usesDataset = true

export async function run(options: BenchOptions): Promise<BenchReport> {
  const keys = Math.max(1000, Math.round(1_000_000 * options.scale))
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-bench-migrate-engines-'))
  const env = { ...process.env, KVTOP_SANDBOX_DIR: join(dir, 'sandboxes') }
  const notes: string[] = []
  const rows: BenchRow[] = []
  const conns: Redis[] = []
  const started: string[] = []

  let valkeyServer: string | undefined
  try {
    valkeyServer = findServerBinary(process.env, { engine: 'valkey' }).path
  } catch (e) {
    const line = `Valkey rows skipped: ${(e as Error).message} (set KVTOP_VALKEY_SERVER, put valkey-server on PATH, or build Valkey 8.0.1 so that ${cachedValkeyServer(process.env)} exists)`
    process.stderr.write(line + '\n')
    notes.push(line)
  }

  const up = async (name: string, shards: number, engine: 'redis' | 'valkey') => {
    const s = await sandboxUp({
      name,
      shards,
      replicas: 0,
      flavor: 'redis',
      engine,
      ...(engine === 'valkey' ? { serverPath: valkeyServer } : {}),
      env,
    })
    started.push(name)
    return s
  }
  const connect = async (port: number) => {
    const r = new Redis({ port, lazyConnect: true })
    await r.connect()
    conns.push(r)
    return r
  }
  const label = (s: SandboxSummary) => `${s.engine === 'valkey' ? 'Valkey' : 'Redis'} ${s.version}`
  const targetOf = async (s: SandboxSummary): Promise<Target> => {
    const primaries = s.nodes.filter((n) => n.role === 'primary').map((n) => n.port)
    const dst = await Promise.all(primaries.map(connect))
    const slotOwner = new Array<number>(16384)
    const slots = (await dst[0].call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]
    for (const [from, to, [, port]] of slots)
      for (let s2 = from; s2 <= to; s2++) slotOwner[s2] = primaries.indexOf(Number(port))
    const pids = s.nodes.filter((n) => n.role === 'primary').map((n) => n.pid)
    return { label: label(s), primaries, conns: dst, slotOwner, pids }
  }
  const countKeys = async (t: Target) =>
    (await Promise.all(t.conns.map((d) => d.dbsize()))).reduce((a, b) => a + b, 0)
  const flush = (t: Target) => Promise.all(t.conns.map((d) => d.flushall()))

  try {
    const valkey = valkeyServer !== undefined
    // allSettled: every sandbox that came up is in `started` (and stopped) even when another failed.
    const ups = await Promise.allSettled([
      up('bench-src-redis', 0, 'redis'),
      up('bench-dst-redis', 3, 'redis'),
      valkey ? up('bench-src-valkey', 0, 'valkey') : undefined,
      valkey ? up('bench-dst-valkey', 3, 'valkey') : undefined,
    ])
    for (const u of ups) if (u.status === 'rejected') throw u.reason
    const [rSrc, rDst, vSrc, vDst] = ups.map(
      (u) => (u as PromiseFulfilledResult<SandboxSummary | undefined>).value,
    )
    if (!rSrc || !rDst) throw new Error('the Redis sandboxes did not come up')
    const redisSrc: Source = { label: label(rSrc), port: rSrc.nodes[0].port, pid: rSrc.nodes[0].pid }
    const valkeySrc: Source | undefined = vSrc && {
      label: label(vSrc),
      port: vSrc.nodes[0].port,
      pid: vSrc.nodes[0].pid,
    }
    await loadDataset(redisSrc.port, keys, dir, options.profile)
    if (valkeySrc) await loadDataset(valkeySrc.port, keys, dir, options.profile)
    const dbsize = await (await connect(redisSrc.port)).dbsize()
    const valkeyDbsize = valkeySrc ? await (await connect(valkeySrc.port)).dbsize() : undefined
    const redisDst = await targetOf(rDst)
    const valkeyDst = vDst ? await targetOf(vDst) : undefined
    notes.push(
      `${dbsize} keys (${PROFILE_DESCRIPTIONS[options.profile]}) on ${redisSrc.label}${valkeySrc ? ` and the same on ${valkeySrc.label} (${valkeyDbsize} keys)` : ''}: one standalone server -> a 3-shard cluster, loopback, 2 cores shared by everything`,
    )
    const sourceKeys = (s: Source) => (s === valkeySrc ? valkeyDbsize! : dbsize)

    // --- the measurements ---------------------------------------------------------------------------
    const copy = async (s: Source, t: Target, mode: CopyMode): Promise<Copy> => {
      await flush(t)
      const { result: report, cpu } = await measureInProcess([s.pid, ...t.pids], () =>
        runMigration(
          {
            source: { url: `redis://127.0.0.1:${s.port}` },
            target: { url: `redis://127.0.0.1:${t.primaries[0]}` },
          },
          { verify: false, mode },
        ),
      )
      const seconds = cpu.wallSeconds
      notes.push(
        describeCpu(`${s.label} -> ${t.label}, ${mode} (servers: source, then the target primaries)`, cpu),
      )
      const got = await countKeys(t)
      const want = sourceKeys(s)
      return {
        seconds,
        rate: want / seconds,
        keys: got,
        ok: got === want && report.errors.total === 0,
        detail: `${got} of ${want}${report.errors.total ? `, ${report.errors.total} errors: ${report.errors.first[0]}` : ''}`,
      }
    }

    /** The RESTORE-pipe ceiling into `t`, from a snapshot of `s` (a source of t's engine). */
    const ceiling = async (s: Source, t: Target): Promise<Copy> => {
      const rdb = join(dir, 'source.rdb')
      const deployment = await Deployment.connect({ url: `redis://127.0.0.1:${s.port}` }, { probe: true })
      try {
        await createSnapshot(deployment, SnapshotOutputs.open(rdb, { overwrite: true }), { method: 'scan' })
      } finally {
        await deployment.close()
      }
      const streams = t.primaries.map((_, i) => join(dir, `restore-${i}.resp`))
      await writeRestoreStreams(
        rdb,
        streams.map((p) => createWriteStream(p)),
        (key) => t.slotOwner[keySlot(key)],
      )
      await flush(t)
      const t0 = performance.now()
      await Promise.all(
        t.primaries.map((port, i) =>
          runTimed(REDIS_CLI, ['-p', String(port), '--pipe'], { stdin: streams[i] }),
        ),
      )
      const seconds = (performance.now() - t0) / 1000
      for (const p of [rdb, ...streams]) rmSync(p, { force: true })
      const got = await countKeys(t)
      const want = sourceKeys(s)
      return { seconds, rate: want / seconds, keys: got, ok: got === want, detail: `${got} of ${want}` }
    }

    /** redis-cli --cluster import of `s` into `t` (MIGRATE COPY REPLACE); `failed` when redis-cli exited non-zero. */
    const importCopy = async (s: Source, t: Target): Promise<Copy & { failed?: string }> => {
      await flush(t)
      const t0 = performance.now()
      let failed: string | undefined
      let output = ''
      try {
        const r = await clusterImport(t.primaries[0], s.port)
        output = r.stdout
      } catch (e) {
        failed = (e as Error).message
        output = failed
      }
      const seconds = (performance.now() - t0) / 1000
      const got = await countKeys(t)
      const want = sourceKeys(s)
      // Which keys did it miss? Sample the binary-named share (names ending in \xff\xfe\r\n\0).
      let binaryPresent = 0
      let binarySampled = 0
      for (let i = 14; i < Math.min(want, 2000); i += 20) {
        const key = Buffer.concat([Buffer.from(`bench:${i}`), BIN])
        binarySampled++
        binaryPresent += await t.conns[t.slotOwner[keySlot(key)]].exists(key)
      }
      const said =
        output
          .replace(ANSI, '')
          .split('\n')
          .filter((l) => /ERR|error|fail/i.test(l))
          .slice(0, 3)
          .join(' | ')
          .slice(0, 400) || 'nothing'
      return {
        seconds,
        rate: want / seconds,
        keys: got,
        ok: got === want && !failed,
        detail: `${failed ? `exited non-zero after ${seconds.toFixed(2)} s, ` : ''}${got} of ${want}; binary-named keys found: ${binaryPresent} of ${binarySampled} sampled${got === want && !failed ? '' : `; redis-cli said: ${said}`}`,
        ...(failed ? { failed } : {}),
      }
    }

    const vs = (
      name: string,
      k: Copy,
      anchorName: string,
      a: Copy,
      goal: string,
      met: (ratio: number) => boolean,
    ): BenchRow => {
      const ratio = k.rate / a.rate
      return {
        case: name,
        kvtop: { seconds: k.seconds, rate: k.rate, unit: 'keys/s' },
        anchor: { name: anchorName, seconds: a.seconds, rate: a.rate },
        ratio,
        goal,
        met: k.ok && met(ratio),
      }
    }
    const checks: string[] = []
    const check = (what: string, c: Copy) => checks.push(`${what} ${c.ok ? 'ok' : 'NO'} (${c.detail})`)

    // --- Redis -> Redis: the same-engine baseline (the migrate bench's rows, this run) ------------------
    const rr = await copy(redisSrc, redisDst, 'dump')
    const rrLogical = await copy(redisSrc, redisDst, 'logical')
    const redisCeiling = await ceiling(redisSrc, redisDst)
    const rrImport = await importCopy(redisSrc, redisDst)
    check(`${redisSrc.label} -> ${redisDst.label}: dump`, rr)
    check('logical', rrLogical)
    check('ceiling', redisCeiling)
    check('import', rrImport)
    const rrCase = `${redisSrc.label} -> ${redisDst.label} (3 shards), ${dbsize} keys`
    const redisCeilingName = `ceiling: redis-cli --pipe x3 of pre-split RESTORE streams into ${redisDst.label}`
    rows.push(
      vs(`${rrCase}, dump`, rr, redisCeilingName, redisCeiling, '>= 0.5x the ceiling', (r) => r >= 0.5),
      vs(
        `${rrCase}, --mode logical`,
        rrLogical,
        redisCeilingName,
        redisCeiling,
        'reported (the portable path)',
        () => true,
      ),
    )
    if (!rrImport.failed)
      rows.push(
        vs(
          `${rrCase}, dump`,
          rr,
          'redis-cli --cluster import --cluster-copy',
          rrImport,
          'faster than the stock tool',
          (r) => r > 1,
        ),
      )
    else
      notes.push(
        `redis-cli --cluster import ${redisSrc.label} -> ${redisDst.label} failed: ${rrImport.detail}`,
      )

    if (valkeySrc && valkeyDst) {
      // --- Valkey -> Valkey and Redis -> Valkey ---------------------------------------------------------
      const vv = await copy(valkeySrc, valkeyDst, 'dump')
      const rv = await copy(redisSrc, valkeyDst, 'dump')
      const valkeyCeiling = await ceiling(valkeySrc, valkeyDst)
      const rvImport = await importCopy(redisSrc, valkeyDst)
      check(`${valkeySrc.label} -> ${valkeyDst.label}: dump`, vv)
      check(`${redisSrc.label} -> ${valkeyDst.label}: dump`, rv)
      check('ceiling', valkeyCeiling)
      check('import', rvImport)
      const valkeyCeilingName = `ceiling: redis-cli --pipe x3 of pre-split RESTORE streams into ${valkeyDst.label}`
      const vvCase = `${valkeySrc.label} -> ${valkeyDst.label} (3 shards), ${valkeyDbsize} keys, dump`
      const rvCase = `${redisSrc.label} -> ${valkeyDst.label} (3 shards), ${dbsize} keys, dump`
      rows.push(
        vs(vvCase, vv, valkeyCeilingName, valkeyCeiling, '>= 0.5x the ceiling', (r) => r >= 0.5),
        vs(rvCase, rv, valkeyCeilingName, valkeyCeiling, '>= 0.5x the ceiling', (r) => r >= 0.5),
        vs(
          rvCase,
          rv,
          `same engine: kvtop dump ${valkeySrc.label} -> ${valkeyDst.label}`,
          vv,
          'reported (cross-engine cost)',
          () => true,
        ),
      )
      if (!rvImport.failed)
        rows.push(
          vs(
            rvCase,
            rv,
            'redis-cli --cluster import --cluster-copy',
            rvImport,
            'faster than the stock tool',
            (r) => r > 1,
          ),
        )
      else
        notes.push(
          `redis-cli --cluster import ${redisSrc.label} -> ${valkeyDst.label} failed: ${rvImport.detail}`,
        )

      // --- Valkey -> Redis: logical ----------------------------------------------------------------------
      const vr = await copy(valkeySrc, redisDst, 'logical')
      check(`${valkeySrc.label} -> ${redisDst.label}: logical`, vr)
      // --mode dump must be refused before anything is copied (the target is empty here).
      await flush(redisDst)
      let refusal: string
      try {
        await runMigration(
          {
            source: { url: `redis://127.0.0.1:${valkeySrc.port}` },
            target: { url: `redis://127.0.0.1:${redisDst.primaries[0]}` },
          },
          { verify: false, mode: 'dump' },
        )
        refusal = `NOT refused: it ran (${await countKeys(redisDst)} keys on the target)`
      } catch (e) {
        const code = (e as { code?: string }).code
        const left = await countKeys(redisDst)
        refusal = `${code === 'dump-version' && left === 0 ? 'refused' : 'NOT refused as expected'} (${code}: ${(e as Error).message}; ${left} keys on the target)`
      }
      const vrImport = await importCopy(valkeySrc, redisDst)
      const vrCase = `${valkeySrc.label} -> ${redisDst.label} (3 shards), ${valkeyDbsize} keys, --mode logical`
      rows.push(
        vs(
          vrCase,
          vr,
          `same engine, dump: kvtop ${redisSrc.label} -> ${redisDst.label}`,
          rr,
          'reported (no DUMP path across)',
          () => true,
        ),
        vs(
          vrCase,
          vr,
          `same engine, same mode: kvtop logical ${redisSrc.label} -> ${redisDst.label}`,
          rrLogical,
          'reported (cross-engine cost)',
          () => true,
        ),
      )
      if (!vrImport.failed && vrImport.ok)
        rows.push(
          vs(
            vrCase,
            vr,
            'redis-cli --cluster import --cluster-copy',
            vrImport,
            'faster than the stock tool',
            (r) => r > 1,
          ),
        )
      notes.push(
        `${valkeySrc.label} -> ${redisDst.label}: no RESTORE-pipe ceiling (${redisDst.label} cannot RESTORE RDB 11 payloads; --mode logical sends type commands). kvtop --mode dump: ${refusal}`,
        `redis-cli --cluster import ${valkeySrc.label} -> ${redisDst.label} (MIGRATE, i.e. DUMP/RESTORE across engines): ${vrImport.ok ? `works, ${vrImport.seconds.toFixed(2)} s` : `does not copy the data: ${vrImport.detail}`}`,
      )
    }
    notes.push(
      `target key count equal to the source's: ${checks.join('; ')}`,
      "kvtop's time includes connecting, the capability probe, the DUMP-version check and the empty-target check; timed in-process (no CLI start-up)",
    )
  } finally {
    for (const c of conns) c.disconnect()
    for (const name of started) await sandboxDown(name, env).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  return { name: 'migrate-engines', rows, notes }
}
