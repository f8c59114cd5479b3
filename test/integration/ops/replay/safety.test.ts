import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../../../helpers/cli.js'
import { freePort } from '../../../helpers/ports.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * "Nothing lost, nothing touched unasked": what `kvtop replay` refuses before sending anything
 * (dataset-wide commands, a target holding keys), and how it stops or fails when the target
 * refuses commands midway (a SELECT, OOM), or hangs. Keys are binary (invalid UTF-8, CR LF, NUL)
 * and datasets are compared byte for byte (DUMP of every key of every db).
 */

const enc = (...args: (string | Buffer)[]): Buffer =>
  Buffer.concat([
    Buffer.from(`*${args.length}\r\n`),
    ...args.flatMap((a) => {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(a)
      return [Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]
    }),
  ])

/** A key no UTF-8 decoder keeps intact: invalid bytes, CR LF and NUL around a readable name. */
const K = (name: string) =>
  Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(name), Buffer.from([0x0d, 0x0a, 0x00, 0x80])])
const V = (name: string) => Buffer.concat([Buffer.from([0x00, 0xc3, 0x28, 0x0d, 0x0a]), Buffer.from(name)])

/** A log and where each command starts in it (byte offsets). */
function log(...commands: Buffer[]): { bytes: Buffer; offsets: number[] } {
  const offsets: number[] = []
  let at = 0
  for (const c of commands) {
    offsets.push(at)
    at += c.length
  }
  return { bytes: Buffer.concat(commands), offsets }
}

/** Every key of every db, DUMPed: `db -> hex(key) -> hex(DUMP)`. */
async function dataset(admin: Redis): Promise<Record<number, Record<string, string>>> {
  const info = String(await admin.info('keyspace'))
  const out: Record<number, Record<string, string>> = {}
  for (const m of info.matchAll(/^db(\d+):keys=(\d+)/gm)) {
    const db = Number(m[1])
    await admin.select(db)
    const keys: Buffer[] = []
    let cursor = '0'
    do {
      const [next, page] = (await admin.callBuffer('SCAN', cursor, 'COUNT', '1000')) as [Buffer, Buffer[]]
      cursor = next.toString()
      keys.push(...page)
    } while (cursor !== '0')
    out[db] = {}
    for (const k of keys) out[db][k.toString('hex')] = ((await admin.dumpBuffer(k)) as Buffer).toString('hex')
  }
  await admin.select(0)
  return out
}

const hex = (b: Buffer) => b.toString('hex')

describe('kvtop replay: nothing lost, nothing touched unasked', () => {
  let target: TestSandbox
  /** The server the stall test pauses (SIGSTOP): resumed in the test, stopped in afterAll. */
  let hung: TestSandbox | undefined
  let admin: Redis
  let dir: string
  let n = 0
  const file = (bytes: Buffer | string, ext = 'resp') => {
    const path = join(dir, `log-${++n}.${ext}`)
    writeFileSync(path, bytes)
    return path
  }

  beforeAll(async () => {
    target = await startSandbox({ shards: 0, replicas: 0 })
    admin = await target.admin()
    dir = mkdtempSync(join(tmpdir(), 'kvtop-replay-safety-'))
  })
  afterAll(async () => Promise.all([target?.down(), hung?.down()]))
  beforeEach(async () => {
    await admin.config('SET', 'maxmemory', '0')
    await admin.flushall()
  })

  it('a long log whose last command is FLUSHALL, read while the target is being connected: refused (exit 2), and the server ran no write at all', async () => {
    const commands = Array.from({ length: 50_000 }, (_, i) => enc('SET', K(`k${i}`), V(`v${i}`)))
    const path = file(log(...commands, enc('FLUSHALL')).bytes)
    await admin.config('RESETSTAT')
    const dirty = async () =>
      /rdb_changes_since_last_save:(\d+)/.exec(String(await admin.info('persistence')))![1]
    const dirtyBefore = await dirty()

    const refused = await runCli(['replay', path, '--to', target.url])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('1 dataset-wide command (FLUSHALL 1; the first at')
    expect(refused.stderr).toContain('command #50001)')
    expect(refused.stderr).toContain('Nothing was sent')
    // No write reached the server: nothing changed since the last save, no SET, SELECT or FLUSHALL run.
    expect(await dirty()).toBe(dirtyBefore)
    const ran = [...String(await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):/gm)].map((m) => m[1])
    for (const write of ['set', 'select', 'flushall', 'multi', 'exec', 'restore'])
      expect(ran).not.toContain(write)
    expect(await admin.dbsize()).toBe(0)
  })

  it('a target that cannot be connected while the log is read: exit 3 naming it, the pre-pass stopped with it', async () => {
    const port = await freePort()
    const path = file(
      log(...Array.from({ length: 50_000 }, (_, i) => enc('SET', K(`k${i}`), V(`v${i}`)))).bytes,
    )
    const failed = await runCli(['replay', path, '--to', `redis://127.0.0.1:${port}`, '--json'])
    expect(failed.code).toBe(3)
    expect(JSON.parse(failed.stdout)).toMatchObject({ error: { exitCode: 3 } })
    expect(failed.stdout).toContain(`127.0.0.1:${port}`)
  })

  it('a user the target refuses COMMAND: exit 2 saying so, nothing sent', async () => {
    const port = target.summary.nodes[0].port
    await admin.call('ACL', 'SETUSER', 'replay-nocmd', 'on', '>pw', '~*', '+@all', '-command')
    const path = file(log(enc('SET', K('a'), V('a'))).bytes)
    const r = await runCli(['replay', path, '--to', `redis://replay-nocmd:pw@127.0.0.1:${port}`])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/the target refuses COMMAND \(NOPERM[^)]*\): nothing was sent/)
    expect(await admin.dbsize()).toBe(0)
  })

  it('a log with FLUSHALL against a target holding data: refused before anything is sent, with the count; --replace alone is not enough; with --allow-flush it is replayed', async () => {
    await admin.set(K('keep'), V('keep'))
    await admin.select(3)
    await admin.set(K('keep3'), V('keep3'))
    await admin.select(0)
    const before = await dataset(admin)
    const path = file(
      log(
        enc('SET', K('a'), V('a')),
        enc('FLUSHALL'),
        enc('SET', K('b'), V('b')),
        enc('MULTI'),
        enc('FLUSHDB'),
        enc('SET', K('c'), V('c')),
        enc('EXEC'),
        enc('MULTI'),
        enc('FLUSHALL'), // discarded: never sent, not counted
        enc('DISCARD'),
        enc('SET', K('d'), V('d')),
      ).bytes,
    )

    const plain = await runCli(['replay', path, '--to', target.url])
    expect(plain.code).toBe(2)
    expect(plain.stderr).toContain('2 dataset-wide commands (FLUSHALL 1, FLUSHDB 1; the first at')
    expect(plain.stderr).toContain('command #2)')
    expect(plain.stderr).toContain('--allow-flush')
    expect(plain.stderr).toMatch(
      /holds 2 keys \(127\.0\.0\.1:\d+ db0 1, db3 1\); replaying onto it needs --replace/,
    )
    expect(plain.stderr).toContain('Nothing was sent')
    expect(await dataset(admin)).toEqual(before)

    const replaceOnly = await runCli(['replay', path, '--to', target.url, '--replace'])
    expect(replaceOnly.code).toBe(2)
    expect(replaceOnly.stderr).toContain('2 dataset-wide commands (FLUSHALL 1, FLUSHDB 1;')
    expect(replaceOnly.stderr).toContain('--allow-flush')
    expect(replaceOnly.stderr).not.toContain('not empty')
    expect(await dataset(admin)).toEqual(before)

    const flushOnly = await runCli(['replay', path, '--to', target.url, '--allow-flush'])
    expect(flushOnly.code).toBe(2)
    expect(flushOnly.stderr).toContain('needs --replace')
    expect(flushOnly.stderr).not.toContain('dataset-wide')
    expect(await dataset(admin)).toEqual(before)

    const both = await runCli([
      'replay',
      path,
      '--to',
      target.url,
      '--replace',
      '--allow-flush',
      '--yes',
      '--json',
    ])
    expect(both.code, both.stderr).toBe(0)
    expect(JSON.parse(both.stdout)).toMatchObject({
      targetKeysBefore: 2,
      datasetWide: { total: 2, byCommand: { FLUSHALL: 1, FLUSHDB: 1 } },
      errors: { total: 0 },
    })
    expect(both.stderr).toContain('the log holds 2 dataset-wide commands (FLUSHALL 1, FLUSHDB 1)')
    // FLUSHALL took keep, keep3 and a; FLUSHDB (in the block) took b; c and d stay, byte for byte.
    const after = await dataset(admin)
    expect(Object.keys(after)).toEqual(['0'])
    expect(Object.keys(after[0]).sort()).toEqual([hex(K('c')), hex(K('d'))].sort())
    expect(await admin.getBuffer(K('c'))).toEqual(V('c'))
    expect(await admin.getBuffer(K('d'))).toEqual(V('d'))
  })

  it('a target holding keys in any db is refused without --replace (exit 2, the key count, nothing sent); with --replace the log is applied beside them', async () => {
    await admin.select(5)
    await admin.set(K('other-db'), V('x'))
    await admin.select(0)
    const before = await dataset(admin)
    const path = file(
      log(enc('SET', K('new'), V('new')), enc('SELECT', '5'), enc('SET', K('new5'), V('5'))).bytes,
    )

    const refused = await runCli(['replay', path, '--to', target.url, '--json'])
    expect(refused.code).toBe(2)
    const error = JSON.parse(refused.stdout).error
    expect(error).toMatchObject({ code: 'target-not-empty', exitCode: 2 })
    expect(error.message).toMatch(
      /the target is not empty: it holds 1 key \(127\.0\.0\.1:\d+ db5 1\); replaying onto it needs --replace/,
    )
    expect(await dataset(admin)).toEqual(before)

    const replaced = await runCli(['replay', path, '--to', target.url, '--replace', '--json'])
    expect(replaced.code, replaced.stderr).toBe(0)
    expect(JSON.parse(replaced.stdout)).toMatchObject({
      targetKeysBefore: 1,
      commands: 2,
      errors: { total: 0 },
    })
    const after = await dataset(admin)
    expect(Object.keys(after[0])).toEqual([hex(K('new'))])
    expect(Object.keys(after[5]).sort()).toEqual([hex(K('other-db')), hex(K('new5'))].sort())
    expect(after[5][hex(K('other-db'))]).toBe(before[5][hex(K('other-db'))])
    await admin.select(5)
    expect(await admin.getBuffer(K('new5'))).toEqual(V('5'))
    await admin.select(0)
  })

  it('a SELECT the target refuses stops the replay before the next command (exit 5, offset, command number and db); nothing meant for that db lands anywhere', async () => {
    const { bytes, offsets } = log(
      enc('SET', K('a'), V('a')),
      enc('SELECT', '2'),
      enc('SET', K('b'), V('b')),
      enc('SELECT', '0'),
      enc('SET', K('c'), V('c')),
      enc('SELECT', '40'), // command #6: a default server has 16 dbs
      enc('SET', K('d'), V('d')),
      enc('DEL', K('a')),
      enc('SELECT', '0'),
      enc('SET', K('e'), V('e')),
    )
    const path = file(bytes)
    const r = await runCli(['replay', path, '--to', target.url])
    expect(r.code).toBe(5)
    expect(r.stderr).toContain(
      `the target refused SELECT 40 (ERR DB index is out of range): the log selects db 40 at ${path} at byte offset ${offsets[5]} (command #6); the replay stopped there`,
    )
    expect(r.stderr).toContain('--db-map 40:N')
    const after = await dataset(admin)
    // db 0 has a (not deleted: the DEL after the refused SELECT was never sent) and c, never d or e.
    expect(Object.keys(after).sort()).toEqual(['0', '2'])
    expect(Object.keys(after[0]).sort()).toEqual([hex(K('a')), hex(K('c'))].sort())
    expect(Object.keys(after[2])).toEqual([hex(K('b'))])
    expect(await admin.getBuffer(K('a'))).toEqual(V('a'))
  })

  it('the same from a MONITOR capture, whose lines carry their db', async () => {
    const lines = [
      '1700000000.000001 [0 127.0.0.1:50000] "SET" "\\xff\\xfem1\\r\\n\\x00" "v1"',
      '1700000000.000002 [2 127.0.0.1:50000] "SET" "m2" "v2"',
      '1700000000.000003 [20 127.0.0.1:50000] "SET" "m3" "v3"',
      '1700000000.000004 [0 127.0.0.1:50000] "SET" "m4" "v4"',
    ]
    const path = file(lines.join('\n') + '\n', 'log')
    const third = Buffer.byteLength(lines.slice(0, 2).join('\n') + '\n')
    const r = await runCli(['replay', path, '--to', target.url])
    expect(r.code).toBe(5)
    expect(r.stderr).toContain(
      `the target refused SELECT 20 (ERR DB index is out of range): the command at ${path} at byte offset ${third} (command #3) is in db 20; the replay stopped there`,
    )
    const after = await dataset(admin)
    expect(after[0]).toEqual({
      [hex(Buffer.from([0xff, 0xfe, 0x6d, 0x31, 0x0d, 0x0a, 0x00]))]: expect.any(String),
    })
    expect(Object.keys(after[2])).toEqual([hex(Buffer.from('m2'))])
  })

  it('error replies make the replay exit 5: counted, listed with their position, the rest applied', async () => {
    const { bytes, offsets } = log(
      enc('SET', K('s'), V('s')),
      enc('LPUSH', K('s'), 'x'), // WRONGTYPE
      enc('SET', K('t'), V('t')),
    )
    const path = file(bytes)
    const r = await runCli(['replay', path, '--to', target.url, '--json'])
    expect(r.code).toBe(5)
    expect(JSON.parse(r.stdout)).toMatchObject({
      commands: 3,
      errors: {
        total: 1,
        byKind: { WRONGTYPE: 1 },
        first: [{ offset: offsets[1], number: 2, command: 'lpush' }],
      },
    })
    expect(r.stderr).toContain('Error: the target refused 1 of the log')
    expect(await admin.getBuffer(K('t'))).toEqual(V('t'))
  })

  it('commands whose keys are in different slots go through on a standalone server (slots are a cluster matter)', async () => {
    const path = file(
      log(
        enc('SET', K('x'), V('x')),
        enc('RENAME', K('x'), K('y-elsewhere')),
        enc('MSET', K('m1'), V('1'), K('m2'), V('2')),
      ).bytes,
    )
    const r = await runCli(['replay', path, '--to', target.url, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ commands: 3, split: 0, errors: { total: 0 } })
    expect(await admin.getBuffer(K('y-elsewhere'))).toEqual(V('x'))
    expect(await admin.getBuffer(K('m2'))).toEqual(V('2'))
  })

  it('a target out of memory (maxmemory too small, noeviction): retried with back-off for --retry-timeout, then exit 5 naming the first refused command', async () => {
    const used = Number(/used_memory:(\d+)/.exec(String(await admin.info('memory')))![1])
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
    await admin.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024))
    const value = Buffer.alloc(20 * 1024, 0xc3)
    const { bytes, offsets } = log(...Array.from({ length: 300 }, (_, i) => enc('SET', K(`big:${i}`), value)))
    const path = file(bytes)
    const r = await runCli(['replay', path, '--to', target.url, '--retry-timeout', '1', '--json'])
    await admin.config('SET', 'maxmemory', '0')
    expect(r.code).toBe(5)
    const error = JSON.parse(r.stdout).error
    expect(error.code).toBe('retries-exhausted')
    expect(error.message).toMatch(
      /the target refused \d+ commands? for 1 s despite \d+ retries \(OOM \d+: OOM command not allowed/,
    )
    const first = /the first is command #(\d+) at (\S+) at byte offset (\d+)/.exec(error.message)!
    expect(Number(first[3])).toBe(offsets[Number(first[1]) - 1])
    expect(error.hint).toContain('--retry-timeout')
    // Progress said it was retrying.
    const events = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
    expect(events.some((e) => e.type === 'warning' && /retrying for up to 1 s/.test(e.message))).toBe(true)
    expect(
      events.some(
        (e) => e.type === 'progress' && /retrying \d+ commands? refused for now \(OOM/.test(e.detail),
      ),
    ).toBe(true)
    // What was applied is a prefix of the log: the replay stopped at the first refused command.
    const applied = Number(await admin.dbsize())
    expect(applied).toBeGreaterThan(0)
    expect(applied).toBeLessThan(300)
    expect(Number(first[1])).toBeLessThanOrEqual(applied + 1)
  })

  it('commands refused for now are sent again once the cause is gone; a write applied meanwhile is reported as reordered', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction')
    await admin.config('SET', 'maxmemory', '1') // every write that may grow memory is refused (OOM)
    const path = file(
      log(
        enc('SET', K('a'), V('a')), // OOM, retried later
        enc('DEL', K('a')), // not denied on OOM: applied at once, before the SET it follows
        enc('SET', K('b'), V('b')), // OOM, retried later
      ).bytes,
    )
    const run = startCli(['replay', path, '--to', target.url, '--retry-timeout', '60', '--json'])
    try {
      await run.waitForStderr(/retrying 2 commands refused for now \(OOM 2\)/, 20_000)
    } finally {
      await admin.config('SET', 'maxmemory', '0')
    }
    const r = await run.done
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ retried: 2, reordered: 1, errors: { total: 0 } })
    expect(await admin.getBuffer(K('b'))).toEqual(V('b'))
    // The log deletes a after setting it; the retried SET came after the DEL: the report says so.
    expect(await admin.getBuffer(K('a'))).toEqual(V('a'))
  })

  it('a hung target (SIGSTOP) stops the replay after --stall-timeout with exit 5, naming the node', async () => {
    hung = await startSandbox({ shards: 0, replicas: 0 })
    const pid = hung.summary.nodes[0].pid!
    let stopped = false
    try {
      // Paced: the second command is due 4 s after the first, time to pause the server in between.
      const path = file(
        Buffer.concat([
          Buffer.from('#TS:1700000000\r\n'),
          enc('SET', K('first'), V('1')),
          Buffer.from('#TS:1700000004\r\n'),
          enc('SET', K('second'), V('2')),
        ]),
        'aof',
      )
      const client = await hung.client()
      const run = startCli([
        'replay',
        path,
        '--to',
        hung.url,
        '--speed',
        '1x',
        '--stall-timeout',
        '1',
        '--json',
      ])
      const deadline = Date.now() + 20_000
      while (!(await client.exists(K('first'))) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20))
      process.kill(pid, 'SIGSTOP')
      stopped = true
      const r = await run.done
      expect(r.code).toBe(5)
      const error = JSON.parse(r.stdout).error
      expect(error.code).toBe('stalled')
      expect(error.message).toContain(
        `the target node 127.0.0.1:${hung.summary.nodes[0].port} has not answered for 1 s (--stall-timeout): the replay stopped after command #2`,
      )
      expect(r.ms).toBeLessThan(15_000)
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT')
    }
  })
})
