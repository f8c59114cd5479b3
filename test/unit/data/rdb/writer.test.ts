import { readFileSync } from 'node:fs'
import { PassThrough, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { buildDumpPayload } from '../../../../src/data/rdb/dump.js'
import type { RdbEntry } from '../../../../src/data/rdb/reader.js'
import { RdbWriter } from '../../../../src/data/rdb/writer.js'
import { intset, len, listpack, str } from '../../../helpers/rdb-craft.js'
import { BIN, dir, entries, read } from './rdb-records.js'

describe('RdbWriter', () => {
  const payloads = [
    {
      key: Buffer.concat([Buffer.from('bin:'), BIN]),
      payload: buildDumpPayload(0, str(BIN), 10),
      expireAt: 4102444800000,
    },
    {
      key: Buffer.from('list'),
      payload: buildDumpPayload(18, Buffer.concat([len(1), len(2), str(listpack(['a', 1]))]), 10),
    },
    { key: Buffer.from('set'), payload: buildDumpPayload(11, str(intset([1, 2, 3])), 9) },
  ]

  async function write(version: number, build: (w: RdbWriter) => void | Promise<void>): Promise<Buffer> {
    const sink = new PassThrough()
    const out: Buffer[] = []
    sink.on('data', (d: Buffer) => out.push(d))
    const w = new RdbWriter(sink, { version, aux: [['redis-ver', '7.0.15']], chunkSize: 64 })
    await build(w)
    await w.end()
    return Buffer.concat(out)
  }

  it('writes DUMP payloads as entries a reader reads back byte for byte, with a valid CRC-64', async () => {
    const file = await write(10, (w) => {
      w.selectDb(0, { keys: 3, expires: 1 })
      for (const p of payloads) w.writeDumpPayload(p.key, p.payload, p.expireAt)
      w.writeFunction(Buffer.from('#!lua name=lib\nredis.register_function("f", function() return 1 end)'))
    })
    expect(file.subarray(0, 9).toString()).toBe('REDIS0010')
    const records = await read(file)
    expect(records.at(-1)).toMatchObject({ kind: 'eof', checksum: 'ok' })
    const got = entries(records)
    expect(got.map((e) => [e.key.toString('hex'), e.expireAt])).toEqual(
      payloads.map((p) => [p.key.toString('hex'), p.expireAt]),
    )
    for (const [i, e] of got.entries()) {
      expect(
        buildDumpPayload(
          e.rdbType,
          e.value,
          payloads[i].payload.readUInt16LE(payloads[i].payload.length - 10),
        ).equals(payloads[i].payload),
      ).toBe(true)
    }
    expect(records.some((r) => r.kind === 'function')).toBe(true)
  })

  it('uses the VALKEY magic from version 80 and refuses payloads newer than the file', async () => {
    expect((await write(80, () => {})).subarray(0, 9).toString()).toBe('VALKEY080')
    await expect(
      write(9, (w) => void w.writeDumpPayload(Buffer.from('k'), payloads[0].payload)),
    ).rejects.toThrow(/RDB version 10 in a file of version 9/)
    const corrupt = Buffer.from(payloads[0].payload)
    corrupt[2] ^= 1
    await expect(write(10, (w) => void w.writeDumpPayload(Buffer.from('k'), corrupt))).rejects.toThrow(
      /CRC-64 mismatch/,
    )
  })

  it('copies entries read from another RDB unchanged (same values, expiries, LFU counters)', async () => {
    const source = readFileSync(`${dir}redis7-types.rdb`)
    const before = await read(source)
    const copy = await write(10, async (w) => {
      let db = -1
      for (const e of entries(before)) {
        if (e.db !== db) w.selectDb((db = e.db))
        await w.writeValue(e.key, e.rdbType, e.buf, e.valueStart, e.valueEnd, e.expireAt, {
          idle: e.idle,
          freq: e.freq,
        })
      }
    })
    const after = entries(await read(copy))
    const shape = (es: RdbEntry[]) =>
      es.map((e) => `${e.db}|${e.key.toString('hex')}|${e.rdbType}|${e.value.toString('hex')}|${e.expireAt}`)
    expect(shape(after)).toEqual(shape(entries(before)))
  })

  it('waits for a slow sink (backpressure)', async () => {
    let release: (() => void) | undefined
    const slow = new Writable({
      highWaterMark: 16,
      write(_c, _e, cb) {
        release = cb
      },
    })
    const w = new RdbWriter(slow, { version: 10, chunkSize: 16 })
    w.selectDb(0)
    const wait = w.writeDumpPayload(Buffer.from('k'), payloads[0].payload)
    expect(wait).toBeInstanceOf(Promise)
    release!()
    await wait
  })
})
