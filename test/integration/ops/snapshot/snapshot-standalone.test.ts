import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { serverFromRdb } from '../../../helpers/rdb-server.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'
import { fillDataset, finalJson } from '../../../helpers/snapshot-dataset.js'

const LIB =
  "#!lua name=kvtoplib\nredis.register_function('kvtop_echo', function(keys, args) return args[1] end)"

async function digest(r: Redis): Promise<string> {
  return String(await r.call('DEBUG', 'DIGEST'))
}

describe('snapshot create / inspect / restore on a standalone server', () => {
  let source: TestSandbox
  let target: TestSandbox
  let admin: Redis
  let sourceDigest: string
  let keys: number
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'snap-'))
  const file = join(dir, 'dump.rdb')

  beforeAll(async () => {
    ;[source, target] = await Promise.all([startSandbox(), startSandbox()])
    admin = await source.admin()
    keys = await fillDataset(admin)
    await admin.select(3)
    await admin.set('db3:key', 'in db 3')
    await admin.sadd('db3:set', 'x')
    await admin.select(0)
    keys += 2
    await admin.call('FUNCTION', 'LOAD', LIB)
    // The sync method waits for this delay before a diskless transfer; not what the test is about.
    await admin.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
    sourceDigest = await digest(admin)
  })
  afterAll(async () => {
    await Promise.all([source?.down(), target?.down()])
  })

  it('create (scan): a real RDB that a fresh redis-server loads with the same DEBUG DIGEST; 0600, no partial file', async () => {
    const r = await runCli(['snapshot', 'create', source.url, '--out', file, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const report = finalJson(r.stdout)
    expect(report).toMatchObject({ method: 'scan', keys, functions: 1, rdbVersion: 10 })
    expect(report.dbs).toEqual([
      { db: 0, keys: keys - 2 },
      { db: 3, keys: 2 },
    ])
    expect(r.stderr).toMatch(/MemoryDB .* accepts only db 0/)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['dump.rdb'])
    const fresh = await serverFromRdb(file)
    try {
      expect(await digest(fresh.client)).toBe(sourceDigest)
      expect(JSON.stringify(await fresh.client.call('FUNCTION', 'LIST'))).toContain('kvtop_echo')
    } finally {
      await fresh.stop()
    }
  })

  it('inspect: version, AUX fields, keys per db and type, the largest keys, checksum', async () => {
    const r = await runCli(['snapshot', 'inspect', file, '--json', '--top', '3'])
    expect(r.code, r.stderr).toBe(0)
    const report = finalJson(r.stdout)
    expect(report).toMatchObject({
      magic: 'REDIS',
      rdbVersion: 10,
      checksum: { status: 'ok' },
      functions: { libraries: 1, names: ['kvtoplib'] },
    })
    expect(report.aux).toMatchObject({ 'redis-ver': expect.any(String), 'kvtop-method': 'scan' })
    expect(report.totals.keys).toBe(keys)
    const db0 = report.dbs[0]
    expect(db0.types.stream).toMatchObject({ keys: 1, elements: 19 })
    expect(db0.types.list.keys).toBe(3)
    expect(db0.types.hash.expires).toBe(1)
    expect(report.largest).toHaveLength(3)
    expect(report.largest[0].bytes).toBeGreaterThanOrEqual(report.largest[1].bytes)
    // keys are printed the way redis-cli prints them
    const text = await runCli(['snapshot', 'inspect', file])
    expect(text.stdout).toMatch(/checksum ok/)
  })

  it('create --method sync: the replication snapshot, copied as streamed (disk-based and diskless), loads with the same digest', async () => {
    for (const diskless of ['no', 'yes']) {
      // Diskless transfers end with a 40-byte marker that must not reach the file.
      await admin.call('CONFIG', 'SET', 'repl-diskless-sync', diskless)
      const syncFile = join(dir, `sync-${diskless}.rdb`)
      const r = await runCli([
        'snapshot',
        'create',
        source.url,
        '--out',
        syncFile,
        '--method',
        'sync',
        '--json',
      ])
      expect(r.code, r.stderr).toBe(0)
      const report = finalJson(r.stdout)
      expect(report).toMatchObject({ method: 'sync', keys, bytes: statSync(syncFile).size })
      const inspected = await runCli(['snapshot', 'inspect', syncFile, '--json'])
      expect(inspected.code, inspected.stderr).toBe(0)
      expect(finalJson(inspected.stdout).checksum).toMatchObject({ status: 'ok' })
      const fresh = await serverFromRdb(syncFile)
      try {
        expect(await digest(fresh.client)).toBe(sourceDigest)
      } finally {
        await fresh.stop()
      }
    }
  })

  it('restore: the same digest on the target; existing keys are refused with their count unless --replace', async () => {
    const r = await runCli(['snapshot', 'restore', file, '--to', target.url])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`Restored ${keys} of ${keys} keys`))
    const t = await target.admin()
    expect(await digest(t)).toBe(sourceDigest)
    expect(JSON.stringify(await t.call('FUNCTION', 'LIST'))).toContain('kvtop_echo')
    // Change one key on the target: a refused restore must leave it alone.
    await t.set('str', 'changed on the target')
    const again = await runCli(['snapshot', 'restore', file, '--to', target.url])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(
      new RegExp(`${keys} of ${keys} keys already exist on the target .*nothing was restored`),
    )
    expect(again.stderr).toMatch(/--replace/)
    expect(await t.get('str')).toBe('changed on the target')
    // --replace over existing keys asks first; not on a terminal it needs --yes (nothing written).
    const unconfirmed = await runCli(['snapshot', 'restore', file, '--to', target.url, '--replace'])
    expect(unconfirmed.code).toBe(2)
    expect(unconfirmed.stderr).toMatch(
      new RegExp(`refusing to overwrite ${keys} existing keys without --yes .*nothing was restored`),
    )
    expect(await t.get('str')).toBe('changed on the target')
    const replaced = await runCli(['snapshot', 'restore', file, '--to', target.url, '--replace', '--yes'])
    expect(replaced.code, replaced.stderr).toBe(0)
    expect(await digest(t)).toBe(sourceDigest)
  })

  it('an unwritable --out fails with exit 2 before connecting to anything', async () => {
    const r = await runCli([
      'snapshot',
      'create',
      'redis://127.0.0.1:1',
      '--out',
      join(dir, 'no-such-dir', 'x.rdb'),
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/cannot write .*x\.rdb/)
    const exists = await runCli(['snapshot', 'create', 'redis://127.0.0.1:1', '--out', file])
    expect(exists.code).toBe(2)
    expect(exists.stderr).toMatch(/already exists/)
    expect(existsSync(file)).toBe(true)
  })
})
