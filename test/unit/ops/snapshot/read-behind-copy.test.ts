import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ReadBehindCopy } from '../../../../src/ops/snapshot/read-behind-copy.js'

/** A sink that keeps what it is given; `highWaterMark` small enough to make it ask for a drain. */
function collector(highWaterMark = 1 << 20): { sink: Writable; written: () => Buffer } {
  const parts: Buffer[] = []
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      parts.push(Buffer.from(chunk))
      setImmediate(done)
    },
  })
  return { sink, written: () => Buffer.concat(parts) }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('ReadBehindCopy', () => {
  it('writes the bytes held only up to the offset read, splitting a chunk where the reader stands', async () => {
    const { sink, written } = collector()
    const copy = new ReadBehindCopy(sink)
    copy.hold(Buffer.from('REDIS0011'))
    copy.hold(Buffer.from([0xfa, 0x0d, 0x0a, 0x00, 0xff]))
    await copy.writeUpTo(0)
    await copy.writeUpTo(4)
    await settle()
    expect(written().toString('latin1')).toBe('REDI')
    await copy.writeUpTo(11)
    await settle()
    expect(written()).toEqual(Buffer.concat([Buffer.from('REDIS0011'), Buffer.from([0xfa, 0x0d])]))
    // What follows the end (a diskless end marker) is held but never written.
    copy.hold(Buffer.from('$EOF-MARKER'))
    await copy.writeUpTo(14)
    await copy.writeUpTo(14)
    await settle()
    expect(written()).toEqual(
      Buffer.concat([Buffer.from('REDIS0011'), Buffer.from([0xfa, 0x0d, 0x0a, 0x00, 0xff])]),
    )
  })

  it('waits for a full sink to drain, and every byte arrives in order', async () => {
    const { sink, written } = collector(16)
    const copy = new ReadBehindCopy(sink)
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff))
    for (let i = 0; i < data.length; i += 100) copy.hold(data.subarray(i, i + 100))
    await copy.writeUpTo(1000)
    await new Promise<void>((resolve) => sink.end(resolve))
    expect(written()).toEqual(data)
  })

  it('a sink that fails (a full disk) rejects with its error, whether it failed before or while waiting', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
    const failing = new Writable({
      highWaterMark: 4,
      write(_chunk, _enc, done) {
        setImmediate(() => done(full))
      },
    })
    failing.on('error', () => {})
    const copy = new ReadBehindCopy(failing)
    copy.hold(Buffer.alloc(64))
    await expect(copy.writeUpTo(64)).rejects.toBe(full)
    // Failed already: no event is coming, the next write is refused at once.
    copy.hold(Buffer.alloc(64))
    await expect(copy.writeUpTo(128)).rejects.toBe(full)
  })
})
