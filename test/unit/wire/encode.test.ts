import { describe, expect, it } from 'vitest'
import { encodeCommand, encodeCommands, encodeKeyCommands } from '../../../src/wire/encode.js'

describe('RESP command encoding', () => {
  it('encodes buffers, UTF-8 strings and numbers byte-exactly, in one buffer for many commands', () => {
    const bin = Buffer.from([0x00, 0x0d, 0x0a, 0xff])
    expect(encodeCommand(['SET', bin, 'é€', 42, -7])).toEqual(
      Buffer.concat([
        Buffer.from('*5\r\n$3\r\nSET\r\n$4\r\n'),
        bin,
        Buffer.from('\r\n$5\r\né€\r\n$2\r\n42\r\n$2\r\n-7\r\n'),
      ]),
    )
    expect(encodeCommands([['PING'], [], ['GET', '']]).toString('latin1')).toBe(
      '*1\r\n$4\r\nPING\r\n*0\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n',
    )
  })

  it('sizes length prefixes of every width exactly (9, 10, 99, 100, 999, 1000, 100000 bytes)', () => {
    for (const n of [9, 10, 99, 100, 999, 1000, 100_000]) {
      const value = Buffer.alloc(n, 0x61)
      const args = Array.from({ length: n === 9 ? 9 : 3 }, (_, i) => (i === 1 ? value : 'x'))
      const out = encodeCommand(args)
      const expected = Buffer.concat([
        Buffer.from(`*${args.length}\r\n`),
        ...args.flatMap((a) => {
          const b = Buffer.isBuffer(a) ? a : Buffer.from(a)
          return [Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]
        }),
      ])
      expect(out.equals(expected), `length ${n}`).toBe(true)
    }
  })

  it('encodes per-key reads byte for byte as the general encoder does, with ASKING before each when asked', () => {
    const keys = [
      Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xfe]),
      Buffer.alloc(0),
      Buffer.from('k'),
      Buffer.alloc(1000, 0x7b),
      Buffer.alloc(64, 0x0a),
      Buffer.alloc(65, 0x0d),
    ]
    expect(encodeKeyCommands(['PEXPIRETIME', 'DUMP'], keys)).toEqual(
      encodeCommands(
        keys.flatMap((k) => [
          ['PEXPIRETIME', k],
          ['DUMP', k],
        ]),
      ),
    )
    expect(encodeKeyCommands(['PTTL', 'DUMP'], keys, 'ASKING')).toEqual(
      encodeCommands(keys.flatMap((k) => [['ASKING'], ['PTTL', k], ['ASKING'], ['DUMP', k]])),
    )
    expect(encodeKeyCommands(['DUMP'], [])).toEqual(Buffer.alloc(0))
  })
})
