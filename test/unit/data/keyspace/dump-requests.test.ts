import { describe, expect, it } from 'vitest'
import {
  commandHead,
  encodeDumpBatch,
  scanCommand,
  type Page,
} from '../../../../src/data/keyspace/dump-requests.js'

/** A page as the scanner copies it out of a SCAN reply: the keys back to back, with their offsets. */
function page(keys: Buffer[]): Page {
  const starts: number[] = []
  const ends: number[] = []
  let at = 0
  for (const k of keys) {
    starts.push(at)
    ends.push((at += k.length))
  }
  return { bytes: Buffer.concat(keys), starts, ends }
}

describe('dump-requests', () => {
  it('SCAN with its cursor and COUNT, as RESP', () => {
    expect(scanCommand('0', '1000')).toBe('*4\r\n$4\r\nSCAN\r\n$1\r\n0\r\n$5\r\nCOUNT\r\n$4\r\n1000\r\n')
    expect(scanCommand('17592186044415', '10')).toBe(
      '*4\r\n$4\r\nSCAN\r\n$14\r\n17592186044415\r\n$5\r\nCOUNT\r\n$2\r\n10\r\n',
    )
    expect(commandHead('PTTL').toString()).toBe('*2\r\n$4\r\nPTTL\r\n')
  })

  it('a batch: for each key of each range, the expire command then DUMP, keys byte for byte (CRLF, NUL, invalid UTF-8)', () => {
    const odd = Buffer.from([0x61, 0x0d, 0x0a, 0x00, 0xff, 0xfe])
    const p1 = page([Buffer.from('skip'), odd, Buffer.from('')])
    const p2 = page([Buffer.from('k'.repeat(12))])
    const out = encodeDumpBatch(
      commandHead('PEXPIRETIME'),
      [
        { page: p1, from: 1, to: 3 },
        { page: p2, from: 0, to: 1 },
      ],
      3,
      odd.length + 12,
    )
    const pair = (key: Buffer) =>
      Buffer.concat([
        Buffer.from(`*2\r\n$11\r\nPEXPIRETIME\r\n$${key.length}\r\n`),
        key,
        Buffer.from(`\r\n*2\r\n$4\r\nDUMP\r\n$${key.length}\r\n`),
        key,
        Buffer.from('\r\n'),
      ])
    expect(out).toEqual(Buffer.concat([pair(odd), pair(Buffer.alloc(0)), pair(Buffer.from('k'.repeat(12)))]))
  })

  it('a batch of long keys fits the buffer sized for it', () => {
    const keys = Array.from({ length: 50 }, (_, i) => Buffer.alloc(100_000 + i, i))
    const p = page(keys)
    const total = keys.reduce((n, k) => n + k.length, 0)
    const out = encodeDumpBatch(commandHead('PTTL'), [{ page: p, from: 0, to: 50 }], 50, total)
    const perKey = (k: Buffer) => 2 * (k.length + `$${k.length}\r\n`.length + 2) + 14 + 14
    expect(out.length).toBe(keys.reduce((n, k) => n + perKey(k), 0))
    expect(out.subarray(out.length - 2).toString()).toBe('\r\n')
  })
})
