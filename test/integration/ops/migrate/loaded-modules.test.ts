import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { seedKeys } from '../../../helpers/dataset.js'
import { moduleLog } from '../../../helpers/module-log.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * What a `migrate run` loads: the parts of the copy a run does not take stay on disk (read from
 * the files Node loads, never timed). The final verify only when it runs, the logical copy only
 * with --mode logical, the replication snapshot's reader only with --read sync, the change feeds
 * only with --live, the plan's checks never; ioredis (~45 files) only for --live's subscriptions:
 * the run's own metadata commands go over kvtop's wire layer.
 */
let source: TestSandbox
let target: TestSandbox

const VERIFY = ['dist/src/ops/verify/verify.js', 'dist/src/ops/verify/compare-keys.js']
const LOGICAL = ['dist/src/ops/migrate/logical-copy.js']
const SYNC = [
  'dist/src/ops/migrate/sync-bulk.js',
  'dist/src/data/rdb/reader.js',
  'dist/src/data/replication/sync-stream.js',
]
const LIVE = ['dist/src/ops/migrate/change-feeds.js', 'dist/src/ops/migrate/notifications.js']
const PLAN = ['dist/src/ops/migrate/preflight.js', 'dist/src/data/keyspace/sampler.js']
const IOREDIS = ['node_modules/ioredis/built/index.js', 'dist/src/connect/client.js']

/** A `migrate run` with a module log: its exit code, its report (--json) and what it loaded. */
async function migrateRun(args: string[]): Promise<{ report: any; loaded: (file: string) => boolean }> {
  const log = moduleLog()
  try {
    const r = await runCli(
      ['migrate', 'run', '--source', source.url, '--target', target.url, '--json', ...args],
      { env: log.env, timeoutMs: 60_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const files = new Set(log.files())
    expect(files.has('bin/kvtop.js')).toBe(true)
    return { report: JSON.parse(r.stdout), loaded: (file) => files.has(file) }
  } finally {
    log.remove()
  }
}

const none = (loaded: (file: string) => boolean, files: string[]) => files.filter(loaded)

beforeAll(async () => {
  ;[source, target] = await Promise.all([
    startSandbox({ shards: 0, replicas: 0 }),
    startSandbox({ shards: 0, replicas: 0 }),
  ])
  const src = await source.admin()
  await src.config('SET', 'repl-diskless-sync-delay', '0')
  await src.config('SET', 'notify-keyspace-events', 'KEA')
  await seedKeys(src, 'm', 300)
})

afterAll(async () => {
  await Promise.all([source?.down(), target?.down()])
})

beforeEach(async () => {
  await (await target.admin()).flushall()
})

describe('migrate run loads only the parts of the copy it takes', () => {
  it('--no-verify (scan, DUMP): no verify, logical copy, snapshot reader, change feeds, plan checks or ioredis', async () => {
    const { report, loaded } = await migrateRun(['--no-verify'])
    expect(report.keys).toBe(300)
    expect(report.verify).toBeUndefined()
    expect(none(loaded, [...VERIFY, ...LOGICAL, ...SYNC, ...LIVE, ...PLAN, ...IOREDIS])).toEqual([])
    expect(loaded('dist/src/ops/migrate/copier.js')).toBe(true)
  })

  it('the final verify loads verify, and nothing else of the others', async () => {
    const { report, loaded } = await migrateRun([])
    expect(report.keys).toBe(300)
    expect(report.verify.identical).toBe(true)
    expect(VERIFY.filter(loaded)).toEqual(VERIFY)
    expect(none(loaded, [...LOGICAL, ...SYNC, ...LIVE, ...PLAN, ...IOREDIS])).toEqual([])
  })

  it('--read sync loads the snapshot reader; --mode logical the logical copy; --live the change feeds', async () => {
    const sync = await migrateRun(['--no-verify', '--read', 'sync'])
    expect([sync.report.read, sync.report.keys]).toEqual(['sync', 300])
    expect(SYNC.filter(sync.loaded)).toEqual(SYNC)
    expect(none(sync.loaded, [...VERIFY, ...LOGICAL, ...LIVE, ...PLAN, ...IOREDIS])).toEqual([])

    await (await target.admin()).flushall()
    const logical = await migrateRun(['--no-verify', '--mode', 'logical'])
    expect([logical.report.mode, logical.report.keys]).toEqual(['logical', 300])
    expect(LOGICAL.filter(logical.loaded)).toEqual(LOGICAL)
    expect(none(logical.loaded, [...VERIFY, ...SYNC, ...LIVE, ...PLAN, ...IOREDIS])).toEqual([])

    await (await target.admin()).flushall()
    const live = await migrateRun(['--no-verify', '--live', '--until-synced'])
    expect([live.report.inSync, live.report.keys]).toEqual([true, 300])
    expect(LIVE.filter(live.loaded)).toEqual(LIVE)
    expect(IOREDIS.filter(live.loaded)).toEqual(IOREDIS)
    expect(none(live.loaded, [...VERIFY, ...LOGICAL, ...SYNC, ...PLAN])).toEqual([])
  })
})
