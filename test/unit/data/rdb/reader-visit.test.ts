import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RdbFormatError, RdbReader } from '../../../../src/data/rdb/reader.js'
import { rdbFile, str } from '../../../helpers/rdb-craft.js'
import { fdsOpenOn } from '../../../helpers/open-fds.js'
import { BIN, dir, once, shape, shapesOfBatches } from './rdb-records.js'

/**
 * RdbReader.eachRecord (records handed over as parsed, no batch array: the restore's send pass) must
 * give exactly the records batches() gives; and a stream of chunks read with reuseBuffers (a SYNC
 * walked for its counts) must give the records of a plain read, into two buffers in turn, leaving
 * the chunks it was handed as they were.
 */
const tmp = mkdtempSync(join(tmpdir(), 'kvtop-reader-visit-'))

async function viaVisits(reader: RdbReader): Promise<{ records: unknown[]; chunks: number }> {
  const records: unknown[] = []
  let chunks = 0
  await reader.eachRecord(
    (r) => records.push(shape(r)),
    async () => {
      chunks++
      await new Promise((r) => setImmediate(r))
    },
  )
  return { records, chunks }
}

/** Keys and values no text path survives: NUL, CR LF, 0xff, invalid UTF-8; one value many chunks long. */
function awkwardFile(): Buffer {
  const big = Buffer.alloc(50_000)
  for (let i = 0; i < big.length; i++) big[i] = [0x0d, 0x0a, 0x00, 0xff, 0xc3][i % 5]
  const entries = Array.from({ length: 3000 }, (_, i) => ({
    type: 0,
    key: Buffer.concat([Buffer.from([0xc3, 0x28, i & 0xff]), BIN]),
    value: str(i === 1500 ? big : Buffer.concat([BIN, Buffer.from(`v${i}\r\n`), BIN])),
    ...(i % 7 === 0 ? { expireMs: 4_102_444_800_000 + i } : {}),
  }))
  return rdbFile(10, [
    { db: 0, entries },
    { db: 3, entries: [{ type: 0, key: Buffer.from([0x00]), value: str(Buffer.from([0xff, 0x00])) }] },
  ])
}

describe('RdbReader.eachRecord', () => {
  it('the records batches() gives, bytes for bytes, from files and streams at any chunk size', async () => {
    const fixtures = readdirSync(dir).filter((f) => f.endsWith('.rdb'))
    expect(fixtures.length).toBeGreaterThan(2)
    const awkward = join(tmp, 'awkward.rdb')
    writeFileSync(awkward, awkwardFile())
    for (const path of [...fixtures.map((f) => join(dir, f)), awkward]) {
      const bytes = readFileSync(path)
      const expected = await shapesOfBatches(new RdbReader(once(bytes, 97)))
      expect(expected.at(-1), path).toMatchObject({ kind: 'eof' })
      for (const chunkSize of [5, 4500, 1 << 20]) {
        const fromFile = await viaVisits(RdbReader.fromFile(path, { chunkSize, reuseBuffers: true }))
        expect(fromFile.records, `${path} file chunks of ${chunkSize}`).toEqual(expected)
        const fromStream = await viaVisits(new RdbReader(once(bytes, chunkSize), { reuseBuffers: true }))
        expect(fromStream.records, `${path} stream chunks of ${chunkSize}`).toEqual(expected)
      }
    }
    // Between chunks the consumer is waited for: many chunks, many waits.
    const { chunks } = await viaVisits(RdbReader.fromFile(awkward, { chunkSize: 4500 }))
    expect(chunks).toBeGreaterThan(10)
  })

  it("'stop' from afterChunk ends the pass there, the file closed", async () => {
    const path = join(tmp, 'stop.rdb')
    writeFileSync(path, awkwardFile())
    const all = await shapesOfBatches(RdbReader.fromFile(path))
    const seen: unknown[] = []
    let chunks = 0
    await RdbReader.fromFile(path, { chunkSize: 4500, reuseBuffers: true }).eachRecord(
      (r) => seen.push(shape(r)),
      () => (++chunks === 2 ? 'stop' : undefined),
    )
    expect(chunks).toBe(2)
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.length).toBeLessThan(all.length)
    expect(seen).toEqual(all.slice(0, seen.length))
    expect(fdsOpenOn(path) ?? 0).toBe(0)
  })

  it('a corrupt or cut file: the error batches() gives, after the records before it', async () => {
    const good = awkwardFile()
    const cut = good.subarray(0, good.length - 20_000)
    const flipped = Buffer.from(good)
    flipped[flipped.length - 3] ^= 0xff // the CRC-64
    for (const [name, bytes] of [
      ['cut', cut],
      ['bad CRC', flipped],
    ] as const) {
      const path = join(tmp, `${name}.rdb`)
      writeFileSync(path, bytes)
      const fromBatches = await shapesOfBatches(RdbReader.fromFile(path)).then(
        (records) => ({ records, error: undefined }),
        (error: unknown) => ({ records: undefined, error }),
      )
      const seen: unknown[] = []
      const error = await RdbReader.fromFile(path, { chunkSize: 4500, reuseBuffers: true })
        .eachRecord((r) => seen.push(shape(r)))
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      if (name === 'cut') {
        expect(error).toBeInstanceOf(RdbFormatError)
        expect((error as RdbFormatError).truncated).toBe(true)
        expect((error as RdbFormatError).message).toBe((fromBatches.error as Error).message)
      } else {
        // A wrong CRC-64 is a record (the EOF's status), not an error: the caller decides.
        expect(error).toBeUndefined()
        expect(seen.at(-1)).toMatchObject({ kind: 'eof', checksum: 'mismatch' })
        expect(seen).toEqual(fromBatches.records)
      }
      expect(fdsOpenOn(path) ?? 0).toBe(0)
    }
  })

  it('an error thrown by the visitor stops the pass and reaches the caller, the file closed', async () => {
    const path = join(tmp, 'throws.rdb')
    writeFileSync(path, awkwardFile())
    let entries = 0
    const failure = await RdbReader.fromFile(path, { chunkSize: 4500 })
      .eachRecord((r) => {
        if (r.kind === 'entry' && ++entries === 10) throw new Error('refused by the consumer')
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      )
    expect(failure?.message).toBe('refused by the consumer')
    expect(entries).toBe(10)
    expect(fdsOpenOn(path) ?? 0).toBe(0)
  })
})

describe('RdbReader over a stream of chunks, with reuseBuffers', () => {
  it('joins the chunks into two buffers in turn, and leaves the chunks it was handed unchanged', async () => {
    const file = awkwardFile()
    const handed: Buffer[] = []
    const copies: Buffer[] = []
    async function* chunks(): AsyncGenerator<Buffer> {
      // Chunks of their own memory (not views of one buffer), as a socket gives them.
      for (let i = 0; i < file.length; i += 5000) {
        const chunk = Buffer.from(file.subarray(i, i + 5000))
        handed.push(chunk)
        copies.push(Buffer.from(chunk))
        yield chunk
      }
    }
    const expected = await shapesOfBatches(new RdbReader(once(file, 97)))
    const reader = new RdbReader(chunks(), { reuseBuffers: true })
    const records: unknown[] = []
    const buffers = new Set<ArrayBufferLike>()
    let batches = 0
    for await (const batch of reader.batches()) {
      batches++
      for (const r of batch) {
        records.push(shape(r))
        if (r.kind === 'entry') buffers.add(r.buf.buffer)
      }
    }
    expect(records).toEqual(expected)
    expect(handed).toEqual(copies)
    // A new buffer per chunk would give one per batch: here two in turn, a few more grown for the
    // 50 KB value, and the first chunk itself (nothing kept before it, so it is parsed in place).
    expect(batches).toBeGreaterThan(10)
    expect(buffers.size).toBeLessThanOrEqual(6)
  })

  it('the bytes after the RDB (an EOF marker) still reach rest()', async () => {
    const file = awkwardFile()
    const after = Buffer.from('0123456789abcdef0123456789abcdef01234567')
    const whole = Buffer.concat([file, after])
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < whole.length; i += 4999) yield Buffer.from(whole.subarray(i, i + 4999))
    }
    const reader = new RdbReader(chunks(), { reuseBuffers: true, leaveSourceOpen: true, entries: 'count' })
    for await (const batch of reader.batches()) void batch
    expect(reader.tally.keys).toBe(3001)
    const rest: Buffer[] = []
    for await (const chunk of reader.rest()) rest.push(Buffer.from(chunk))
    expect(Buffer.concat(rest)).toEqual(after)
  })
})
