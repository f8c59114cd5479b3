import { createReadStream, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RdbFormatError, RdbReader } from '../../../../src/data/rdb/reader.js'
import { rdbFile, str } from '../../../helpers/rdb-craft.js'
import { dir, once, shape, shapesOfBatches } from './rdb-records.js'
import { fdsOpenOn } from '../../../helpers/open-fds.js'

/**
 * RdbReader.fromFile reads the file straight into the buffers it parses (no chunk joined onto the
 * bytes kept): the records must be exactly those a stream of the same bytes gives, at any chunk
 * size, and a cut file must fail the same way.
 */
const tmp = mkdtempSync(join(tmpdir(), 'kvtop-reader-file-'))

describe('RdbReader.fromFile', () => {
  const fixtures = readdirSync(dir).filter((f) => f.endsWith('.rdb'))

  it.each([1, 7, 97, 4096, 1 << 20])(
    'chunks of %i bytes: the same records as a stream of the file',
    async (chunkSize) => {
      expect(fixtures.length).toBeGreaterThan(2)
      for (const name of fixtures) {
        const bytes = readFileSync(join(dir, name))
        const fromStream = await shapesOfBatches(new RdbReader(once(bytes, 97)))
        const fromFile = await shapesOfBatches(RdbReader.fromFile(join(dir, name), { chunkSize }))
        expect(fromFile, name).toEqual(fromStream)
      }
    },
  )

  it('a value many chunks long, with bytes that look like RESP and NUL', async () => {
    const big = Buffer.alloc(300_000)
    for (let i = 0; i < big.length; i++) big[i] = [0x0d, 0x0a, 0x00, 0xff, i & 0xff][i % 5]
    const file = rdbFile(10, [
      {
        db: 0,
        entries: [
          { type: 0, key: Buffer.from('before'), value: str('x') },
          { type: 0, key: Buffer.from([0xc3, 0x28, 0x0d, 0x0a]), value: str(big) },
          { type: 0, key: Buffer.from('after'), value: str('y') },
        ],
      },
    ])
    const path = join(tmp, 'big.rdb')
    writeFileSync(path, file)
    const records = await shapesOfBatches(RdbReader.fromFile(path, { chunkSize: 1000 }))
    expect(records).toEqual(await shapesOfBatches(new RdbReader(once(file, 1000))))
    const values = records.filter((r) => (r as { kind: string }).kind === 'entry') as { value: string }[]
    expect(values.map((v) => v.value.length / 2)).toEqual([1 + 1, 300_000 + 5, 1 + 1])
    expect(records.at(-1)).toMatchObject({ kind: 'eof', checksum: 'ok' })
  })

  it('reuseBuffers: the same records, read into two buffers in turn (a big value grows them once)', async () => {
    const big = Buffer.alloc(20_000, 0x0d)
    const entries = Array.from({ length: 400 }, (_, i) => ({
      type: 0,
      key: Buffer.from([0x6b, i & 0xff, 0x00, 0x0a, 0xff]),
      value: str(i === 200 ? big : Buffer.from(`v${i}\r\n${'x'.repeat(100)}`)),
    }))
    const file = rdbFile(10, [{ db: 0, entries }])
    const path = join(tmp, 'reuse.rdb')
    writeFileSync(path, file)
    const expected = await shapesOfBatches(new RdbReader(once(file, 97)))
    // Chunks of 4 KiB and more: smaller buffers come from Node's shared pool.
    for (const chunkSize of [4500, 6000]) {
      const reader = RdbReader.fromFile(path, { chunkSize, reuseBuffers: true })
      const records: unknown[] = []
      const buffers = new Set<ArrayBufferLike>()
      let batches = 0
      for await (const batch of reader.batches()) {
        batches++
        for (const r of batch) {
          // Shaped now: the batch's views are valid until the next batch is asked for.
          records.push(shape(r))
          if (r.kind === 'entry') buffers.add(r.buf.buffer)
        }
      }
      expect(records, `chunks of ${chunkSize}`).toEqual(expected)
      // A new buffer per chunk would give one per batch; here two in turn, plus those grown (by
      // doubling) for the big value.
      expect(batches, `chunks of ${chunkSize}`).toBeGreaterThanOrEqual(8)
      expect(buffers.size, `chunks of ${chunkSize}`).toBeLessThanOrEqual(6)
    }
  })

  it('a cut file: the error a stream of the same file gives (offset, message, truncated); the file is closed', async () => {
    const good = readFileSync(join(dir, 'legacy-v9.rdb'))
    const failure = (reader: RdbReader) =>
      shapesOfBatches(reader).then(
        () => undefined,
        (e: unknown) => e as RdbFormatError,
      )
    const cuts: number[] = []
    for (let cut = 0; cut < good.length; cut += cut < 64 ? 1 : 13) cuts.push(cut)
    const path = (cut: number) => join(tmp, `cut-${cut}.rdb`)
    for (const cut of cuts) writeFileSync(path(cut), good.subarray(0, cut))
    const before = fdsOpenOn(tmp)
    const fromFile: (RdbFormatError | undefined)[] = []
    for (const cut of cuts) fromFile.push(await failure(RdbReader.fromFile(path(cut), { chunkSize: 64 })))
    expect(fdsOpenOn(tmp)).toBe(before)
    let truncated = 0
    for (const [i, cut] of cuts.entries()) {
      const fromStream = await failure(new RdbReader(createReadStream(path(cut), { highWaterMark: 64 })))
      const got = fromFile[i]
      expect(got, `cut at ${cut}`).toBeInstanceOf(RdbFormatError)
      expect(
        { message: got!.message, offset: got!.offset, truncated: got!.truncated },
        `cut at ${cut}`,
      ).toEqual({
        message: fromStream!.message,
        offset: fromStream!.offset,
        truncated: fromStream!.truncated,
      })
      if (got!.truncated) truncated++
    }
    expect(truncated).toBeGreaterThan(50)
  })

  it('a missing file rejects with ENOENT; a reader left after its first batch closes the file', async () => {
    await expect(shapesOfBatches(RdbReader.fromFile(join(tmp, 'none.rdb')))).rejects.toMatchObject({
      code: 'ENOENT',
    })
    const before = fdsOpenOn(dir)
    for (let i = 0; i < 20; i++) {
      for await (const batch of RdbReader.fromFile(join(dir, 'legacy-v9.rdb'), { chunkSize: 16 }).batches()) {
        expect(batch.length).toBeGreaterThan(0)
        break
      }
    }
    expect(fdsOpenOn(dir)).toBe(before)
  })
})
