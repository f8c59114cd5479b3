import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../../../helpers/cli.js'
import { rdbFile, str } from '../../../helpers/rdb-craft.js'
import { startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * snapshot restore asks the target which databases hold keys while it still reads the file (the
 * preflight's round trips overlap the file check): a damaged file still restores nothing into a
 * target that holds data, keys of the file on the target are still refused without --replace,
 * databases are told apart (keys in another db are not the file's), and keys are bytes, not text.
 */
describe('snapshot restore: the preflight beside the file check', () => {
  let target: TestSandbox
  let admin: Redis
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'restore-preflight-'))
  /** Keys and values that are not text: invalid UTF-8, CR LF, NUL. */
  const binaryKey = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00, 0x41])
  const pairs: [Buffer, Buffer][] = [
    [binaryKey, Buffer.from([0x00, 0x0d, 0x0a, 0xc3, 0x28, 0xff])],
    [Buffer.from('plain'), Buffer.from('value')],
    [Buffer.from('a\r\nb\0c'), Buffer.from([0xfe, 0xed, 0x00])],
  ]
  const good = rdbFile(9, [
    { db: 0, entries: pairs.map(([key, value]) => ({ type: 0, key, value: str(value) })) },
  ])
  const goodFile = join(dir, 'good.rdb')
  const damagedFile = join(dir, 'damaged.rdb')

  beforeAll(async () => {
    target = await startSandbox()
    admin = await target.admin()
    writeFileSync(goodFile, good)
    // One bit of a value flipped: the structure reads, the CRC-64 does not match.
    const damaged = Buffer.from(good)
    damaged[damaged.indexOf(Buffer.from('value'))] ^= 0x01
    writeFileSync(damagedFile, damaged)
  })
  beforeEach(async () => {
    await admin.flushall()
  })
  afterAll(async () => {
    await target?.down()
  })

  /** Every key of every db with its DUMP payload: compared before and after a refused restore. */
  async function contents(): Promise<string> {
    const out: string[] = []
    for (const db of [0, 5]) {
      await admin.select(db)
      for (const key of (await admin.keysBuffer('*')).sort(Buffer.compare))
        out.push(`${db}:${key.toString('hex')}=${(await admin.dumpBuffer(key))?.toString('hex')}`)
    }
    await admin.select(0)
    return out.join('\n')
  }

  it('a file failing its CRC-64, a reachable target holding data: exit 2, the target untouched, with --replace --yes too', async () => {
    await admin.set(binaryKey, 'the target copy')
    await admin.set('unrelated', 'stays')
    const before = await contents()
    for (const extra of [[], ['--replace', '--yes']]) {
      const r = await runCli(['snapshot', 'restore', damagedFile, '--to', target.url, '--json', ...extra])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(/CRC-64 checksum does not match .*nothing was restored/)
      expect(r.stderr).not.toMatch(/"phase":"restoring"/)
      expect(await contents()).toBe(before)
    }
  })

  it('keys only in another db are not the file’s: restored without a key check, byte for byte', async () => {
    await admin.select(5)
    await admin.set(binaryKey, 'db 5 copy')
    await admin.select(0)
    const r = await runCli(['snapshot', 'restore', goodFile, '--to', target.url, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/"phase":"checking"/)
    for (const [key, value] of pairs) expect(await admin.getBuffer(key)).toEqual(value)
    expect(await admin.dbsize()).toBe(pairs.length)
    await admin.select(5)
    expect(await admin.get(binaryKey)).toBe('db 5 copy')
    await admin.select(0)
  })

  it('a key of the file in the db it goes to: refused with the count and the key escaped, nothing written', async () => {
    await admin.select(5)
    await admin.set(binaryKey, 'db 5 copy')
    await admin.select(0)
    const before = await contents()
    const r = await runCli(['snapshot', 'restore', goodFile, '--to', target.url, '--db-map', '0:5'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(
      '1 of 3 keys already exist on the target (e.g. "\\xff\\xfe\\r\\n\\x00A"): nothing was restored',
    )
    expect(r.stderr).toMatch(/--replace/)
    expect(await contents()).toBe(before)
    // Mapped elsewhere, the same file goes in: db 5's key is not in its way.
    const elsewhere = await runCli(['snapshot', 'restore', goodFile, '--to', target.url, '--db-map', '0:3'])
    expect(elsewhere.code, elsewhere.stderr).toBe(0)
    await admin.select(3)
    for (const [key, value] of pairs) expect(await admin.getBuffer(key)).toEqual(value)
    await admin.flushdb()
    await admin.select(0)
  })
})
