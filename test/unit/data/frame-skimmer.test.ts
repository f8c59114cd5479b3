import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeCommand } from '../../../src/wire/encode.js'
import { FrameScanner, frameArgsAt } from '../../../src/data/resp/frame-scanner.js'
import { FrameSkimmer } from '../../../src/data/resp/frame-skimmer.js'

/** Bytes no text decoder keeps: invalid UTF-8, CR LF, NUL, and the RESP markers '*' and '$'. */
const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00, 0x2a, 0x24, 0x0d])
const enc = (...args: (string | Buffer)[]) => encodeCommand(args)

const dir = mkdtempSync(join(tmpdir(), 'kvtop-skim-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

interface Skimmed {
  offset: number
  size: number
  /** Arguments (hex) of the frames held whole. */
  args?: string[]
}

/** Every frame the skimmer reads, and where it stopped, with a buffer of `capacity` bytes. */
function skim(
  bytes: Buffer,
  capacity: number,
  whole: (name: string) => boolean = (name) => name === 'SELECT',
) {
  const path = join(dir, `log-${++n}.resp`)
  writeFileSync(path, bytes)
  const fd = openSync(path, 'r')
  try {
    const names: string[] = []
    const skimmer = new FrameSkimmer(
      fd,
      bytes.length,
      0,
      (buf, start, end) => {
        names.push(buf.toString('latin1', start, end))
        return whole(names[names.length - 1])
      },
      capacity,
    )
    const frames: Skimmed[] = []
    while (skimmer.next()) {
      const frame: Skimmed = { offset: skimmer.offset, size: skimmer.size }
      if (skimmer.whole) {
        frame.args = frameArgsAt(skimmer.buf, skimmer.start).map((a) => a.toString('hex'))
        expect(skimmer.buf.subarray(skimmer.start, skimmer.start + skimmer.size)).toEqual(
          bytes.subarray(skimmer.offset, skimmer.offset + skimmer.size),
        )
      }
      frames.push(frame)
    }
    return { frames, names, stoppedAt: skimmer.offset, atEnd: skimmer.atEnd }
  } finally {
    closeSync(fd)
  }
}

/** What FrameScanner finds in the same bytes held whole: the frames, and where it stops. */
function scanned(bytes: Buffer) {
  const scanner = new FrameScanner(1 << 20)
  const stoppedAt = scanner.scan(bytes, 0)
  const frames = []
  for (let k = 0; k < scanner.count; k++)
    frames.push({ offset: scanner.start[k], size: scanner.end[k] - scanner.start[k] })
  return { frames, stoppedAt }
}

const big = Buffer.alloc(5000, 'v')
const log = Buffer.concat([
  enc('SET', Buffer.concat([BIN, Buffer.from('key')]), BIN),
  enc('SELECT', '3'),
  enc('SET', 'big', big),
  enc('HSET', 'h', 'f', BIN, 'g', ''),
  enc('SELECT', Buffer.concat([BIN, big])),
  enc('INCR', 'c'),
])

describe('FrameSkimmer', () => {
  it.each([16, 64, 1000, 1 << 20])(
    'reads the frames FrameScanner finds, with a %i-byte buffer (values skipped, names read, frames asked for held whole)',
    (capacity) => {
      const seen = skim(log, capacity)
      const expected = scanned(log)
      expect(seen.frames.map(({ offset, size }) => ({ offset, size }))).toEqual(expected.frames)
      expect(seen.stoppedAt).toBe(log.length)
      expect(seen.atEnd).toBe(true)
      expect(seen.names).toEqual(['SET', 'SELECT', 'SET', 'HSET', 'SELECT', 'INCR'])
      expect(seen.frames[1].args).toEqual([
        Buffer.from('SELECT').toString('hex'),
        Buffer.from('3').toString('hex'),
      ])
      expect(seen.frames[4].args?.[1]).toBe(Buffer.concat([BIN, big]).toString('hex'))
      expect(seen.frames.filter((f) => f.args).length).toBe(2)
    },
  )

  it.each([
    ['an annotation whose CR lacks its LF', Buffer.from('#TS:100\r')],
    ['an inline command', Buffer.from('SET a 1\r\n')],
    ['a blank line', Buffer.from('\r\n')],
    ['an empty command', Buffer.from('*0\r\n')],
    ['a negative length', Buffer.from('*2\r\n$3\r\nGET\r\n$-1\r\n')],
    ['a value without its CRLF', Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\nab\r\n')],
    ['a ten-digit length', Buffer.from('*2\r\n$3\r\nGET\r\n$1000000000\r\n')],
    ['a cut-off value', Buffer.from('*2\r\n$3\r\nSET\r\n$5000\r\nvvv')],
    ['a cut-off header', Buffer.from('*2\r\n$3\r\nSET\r\n$50')],
  ])('stops where FrameScanner stops: %s', (_, odd) => {
    const bytes = Buffer.concat([log, odd, enc('FLUSHALL')])
    for (const capacity of [16, 1 << 20]) {
      const seen = skim(bytes, capacity)
      const expected = scanned(bytes)
      expect(seen.frames.map(({ offset, size }) => ({ offset, size }))).toEqual(expected.frames)
      expect(seen.stoppedAt).toBe(log.length)
      expect(expected.stoppedAt).toBe(log.length)
      expect(seen.atEnd).toBe(false)
    }
  })

  it('holds a frame asked for whole that is bigger than its buffer (the buffer grows)', () => {
    const bytes = Buffer.concat([enc('FUNCTION', 'RESTORE', big, 'FLUSH'), enc('GET', 'k')])
    const seen = skim(bytes, 32, (name) => name === 'FUNCTION')
    expect(seen.frames).toHaveLength(2)
    expect(seen.frames[0].args?.map((a) => Buffer.from(a, 'hex').length)).toEqual([8, 7, 5000, 5])
    expect(seen.frames[1]).toEqual({
      offset: bytes.length - enc('GET', 'k').length,
      size: enc('GET', 'k').length,
    })
  })
})

describe('FrameSkimmer annotations', () => {
  it('reads #... lines ending in CRLF between frames, and gives their text; not one whose CR lacks its LF', () => {
    const bytes = Buffer.concat([
      Buffer.from('#TS:1700000000\r\n'),
      enc('GET', 'k'),
      Buffer.from('#x\ry\r\n'),
    ])
    const path = join(dir, `log-${++n}.resp`)
    writeFileSync(path, bytes)
    const fd = openSync(path, 'r')
    try {
      const skimmer = new FrameSkimmer(fd, bytes.length, 0, () => false, 16)
      expect(skimmer.next()).toBe(true)
      expect(skimmer.annotation).toBe(true)
      expect(skimmer.buf.toString('latin1', skimmer.start, skimmer.textEnd)).toBe('TS:1700000000')
      expect(skimmer.next()).toBe(true)
      expect(skimmer.annotation).toBe(false)
      expect({ offset: skimmer.offset, size: skimmer.size }).toEqual({
        offset: 16,
        size: enc('GET', 'k').length,
      })
      expect(skimmer.next()).toBe(false)
      expect(skimmer.offset).toBe(16 + enc('GET', 'k').length)
    } finally {
      closeSync(fd)
    }
  })
})

describe('FrameSkimmer skipping', () => {
  it('does not read values it skips: a log of 2 MiB values costs a few KiB of reads per command', () => {
    const value = Buffer.alloc(2 * 1024 * 1024, 'v')
    const frames = [
      enc('SET', 'a', value),
      enc('SET', 'b', value),
      enc('SELECT', '1'),
      enc('SET', 'c', value),
    ]
    const bytes = Buffer.concat(frames)
    const path = join(dir, `log-${++n}.resp`)
    writeFileSync(path, bytes)
    const fd = openSync(path, 'r')
    try {
      const skimmer = new FrameSkimmer(fd, bytes.length, 0, (buf, start, end) => end - start === 6)
      const seen = []
      while (skimmer.next()) seen.push({ offset: skimmer.offset, size: skimmer.size, whole: skimmer.whole })
      let at = 0
      expect(seen).toEqual(
        frames.map((f, i) => ({
          offset: (at += i ? frames[i - 1].length : 0),
          size: f.length,
          whole: i === 2,
        })),
      )
      expect(skimmer.atEnd).toBe(true)
      // MiB read: the first buffer, then a few KiB after each value skipped.
      expect(skimmer.reads).toBeLessThan(1.1)
    } finally {
      closeSync(fd)
    }
  })
})
