import { describe, expect, it } from 'vitest'
import { formatMonitorLine, parseMonitorLine, quoteBytes } from '../../../../src/data/monitor/monitor-line.js'

const b = (s: string) => Buffer.from(s, 'latin1')

describe('MONITOR lines', () => {
  it('decodes every escape Redis writes back to the exact bytes', () => {
    const rec = parseMonitorLine(
      b('1700000000.123456 [3 127.0.0.1:5000] "SET" "k\\x00\\xff\\r\\n" "a\\"b\\\\c\\t\\a\\b"'),
    )
    expect(rec).toMatchObject({ timestamp: '1700000000.123456', db: 3, client: '127.0.0.1:5000' })
    expect(rec.args).toEqual([b('SET'), Buffer.from([0x6b, 0x00, 0xff, 0x0d, 0x0a]), b('a"b\\c\t\x07\x08')])
  })

  it('accepts the simple-string prefix, lua and unix-socket clients, and empty arguments', () => {
    expect(parseMonitorLine(b('+1.5 [0 lua] "INCR" ""')).args).toEqual([b('INCR'), Buffer.alloc(0)])
    expect(parseMonitorLine(b('1.5 [0 unix:/tmp/redis.sock] "PING"')).client).toBe('unix:/tmp/redis.sock')
  })

  it('round-trips every byte value through format and parse', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const line = formatMonitorLine({
      timestamp: '1.000001',
      db: 0,
      client: '10.0.0.1:1',
      args: [b('SET'), all, Buffer.from(all).reverse()],
    })
    expect(/[\r\n]/.test(line)).toBe(false)
    const back = parseMonitorLine(Buffer.from(line, 'latin1'))
    expect(back.args[1]).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))
    expect(back.args[2]).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)))
    expect(quoteBytes(b('\x00"'))).toBe('"\\x00\\""')
  })

  it.each([
    ['garbage', /expected a timestamp/],
    ['1.5 0 127.0.0.1:1] "GET"', /expected '\['/],
    ['1.5 [x 127.0.0.1:1] "GET"', /expected '\[db client\]'/],
    ['1.5 [0 127.0.0.1:1] "GET', /unterminated argument/],
    ['1.5 [0 127.0.0.1:1] "GET" "\\xZZ"', /invalid \\x escape/],
    ['1.5 [0 127.0.0.1:1] "GET" "\\q"', /invalid escape/],
    ['1.5 [0 127.0.0.1:1] GET', /expected '"'/],
    ['1.5 [0 127.0.0.1:1]', /no command/],
  ])('rejects %j', (line, message) => {
    expect(() => parseMonitorLine(b(line))).toThrow(message)
  })
})
