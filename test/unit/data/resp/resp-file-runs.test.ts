import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeCommand } from '../../../../src/wire/encode.js'
import {
  readFileCommandRuns,
  RespProtocolError,
  type CommandRecord,
} from '../../../../src/data/resp/command-parser.js'
import { args, BIN, chunks, collect } from './resp-records.js'

/** A command's kind, framed or not: 'command' (or 'annotation'). */
const kindOf = (r: CommandRecord) => (r.kind === 'annotation' ? 'annotation' : 'command')

/** Every record of readFileCommandRuns, runs of frames taken apart: [kind, offset, size, arguments]. */
async function fileRecords(path: string, from: number, options = {}): Promise<unknown[][]> {
  const out: unknown[][] = []
  for await (const batch of readFileCommandRuns(path, from, options)) {
    if (Array.isArray(batch)) {
      out.push(...batch.map((r: CommandRecord) => [kindOf(r), r.offset, r.size, args(r)]))
      continue
    }
    const f = batch.frames
    for (let k = 0; k < f.count; k++) {
      const bytes = batch.buf.subarray(f.start[k], f.end[k])
      out.push(['command', batch.base + f.start[k], bytes.length, args(frameRecord(bytes))])
    }
  }
  return out
}

const frameRecord = (bytes: Buffer): CommandRecord => ({
  kind: 'frame',
  buf: bytes,
  start: 0,
  end: bytes.length,
  argc: 0,
  nameStart: 0,
  nameEnd: 0,
  arg1Start: 0,
  arg1End: 0,
  offset: 0,
  size: bytes.length,
})

/** The same from readCommands over the bytes in memory: the reference. */
async function memoryRecords(bytes: Buffer, base: number): Promise<unknown[][]> {
  return (await collect(chunks(bytes, 65536))).map((r) => [kindOf(r), base + r.offset, r.size, args(r)])
}

describe('readFileCommandRuns: a file read in chunks, the command a chunk ends in read again', () => {
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT ?? tmpdir(), 'resp-file-runs-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  // ~3.5 MB: small binary commands (a chunk boundary falls inside many kinds of them), inline
  // commands and annotations, 70 KB values (longer than what is read again: joined) and a 1.5 MB
  // one (longer than a chunk).
  const parts: Buffer[] = []
  for (let i = 0; i < 40_000; i++) {
    if (i % 997 === 0) parts.push(Buffer.from(`#TS:${1_700_000_000 + i}\r\n`))
    if (i % 1009 === 0) parts.push(Buffer.from(`SET "inline ${i}" "a\\x00b"\r\n`))
    const key = Buffer.concat([Buffer.from(`k${i}`), BIN])
    const value = i % 5000 === 4999 ? Buffer.alloc(70_000, i & 255) : Buffer.from(`v${'x'.repeat(i % 90)}`)
    parts.push(encodeCommand(['SET', key, value]))
    if (i === 20_000) parts.push(encodeCommand(['SET', 'big', Buffer.alloc(1_500_000, 0x0d)]))
  }
  const stream = Buffer.concat(parts)
  const path = join(dir, 'log.resp')
  writeFileSync(path, stream)

  it('gives every record, offset and argument that a reader of the whole stream gives', async () => {
    expect(stream.length).toBeGreaterThan(3 * 1024 * 1024)
    const read = await fileRecords(path, 0)
    expect(read.length).toBe(40_000 + 1 + 41 + 40)
    expect(read).toEqual(await memoryRecords(stream, 0))
  })

  it('from an offset inside the file, offsets still counted from it', async () => {
    const from = parts.slice(0, 12_345).reduce((n, p) => n + p.length, 0)
    expect(await fileRecords(path, from)).toEqual(await memoryRecords(stream.subarray(from), 0))
  })

  it('a log cut inside a command after the first chunk: the same error, at the same offset', async () => {
    const cut = 2 * 1024 * 1024 + 17
    const cutPath = join(dir, 'cut.resp')
    writeFileSync(cutPath, stream.subarray(0, cut))
    const expected = await collect(chunks(stream.subarray(0, cut), 65536)).catch((e: unknown) => e)
    expect(expected).toBeInstanceOf(RespProtocolError)
    const got = await fileRecords(cutPath, 0).catch((e: unknown) => e)
    expect(got).toBeInstanceOf(RespProtocolError)
    expect((got as RespProtocolError).message).toBe((expected as RespProtocolError).message)
    let tail: number | undefined
    const kept = await fileRecords(cutPath, 0, {
      allowTruncatedTail: true,
      onTruncatedTail: (offset: number) => (tail = offset),
    })
    const last = kept[kept.length - 1] as [string, number, number]
    expect(tail).toBe(last[1] + last[2])
    expect(tail).toBeLessThan(cut)
  })
})
