/**
 * `snapshot inspect` walks every value, so a damaged value whose CRC-64 matches is still reported
 * as corrupt (exit 2).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { KvtopError, UsageError } from '../../../../src/errors.js'
import { lzfCompress } from '../../../../src/data/lzf.js'
import { inspectSnapshot } from '../../../../src/ops/snapshot/inspect.js'
import { len, listpack } from '../../../helpers/rdb-craft.js'
import { lzfValue, oneKey } from '../../data/rdb/corrupt-values.js'

describe('snapshot inspect walks every value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-inspect-corrupt-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('a 0xFFFFFFF0-byte LZF value with a matching CRC-64 is corrupt (exit 2), not "checksum ok"', async () => {
    const path = join(dir, 'bad-lzf.rdb')
    writeFileSync(path, oneKey(0, lzfValue(0xfffffff0)))
    const err = await inspectSnapshot(path).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(UsageError)
    expect((err as KvtopError).exitCode).toBe(2)
    expect((err as KvtopError).code).toBe('corrupt')
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt RDB: corrupt LZF string .* at byte offset 17`,
      ),
    )
  })

  it('a damaged listpack inside an LZF-compressed value is found; the good file still reads', async () => {
    const good = listpack(Array.from({ length: 40 }, (_, i) => `field-${i % 4}`))
    const lzf = (blob: Buffer) => {
      const c = lzfCompress(blob)!
      return Buffer.concat([Buffer.from([0xc3]), len(c.length), len(blob.length), c])
    }
    writeFileSync(join(dir, 'good.rdb'), oneKey(20, lzf(good)))
    const report = await inspectSnapshot(join(dir, 'good.rdb'))
    expect(report.checksum.status).toBe('ok')
    expect(report.totals.elements).toBe(40)
    // The first entry's header byte turned into an integer encoding: the entry no longer ends where
    // its backlen says.
    const bad = Buffer.concat([good.subarray(0, 6), Buffer.from([0xc5]), good.subarray(7)])
    writeFileSync(join(dir, 'bad.rdb'), oneKey(20, lzf(bad)))
    await expect(inspectSnapshot(join(dir, 'bad.rdb'))).rejects.toThrow(
      /bad\.rdb: corrupt RDB: corrupt listpack: entry backlen says \d+ bytes.* at byte offset 17/,
    )
  })
})
