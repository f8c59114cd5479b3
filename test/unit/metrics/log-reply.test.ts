import { describe, expect, it } from 'vitest'
import { escapeBytes } from '../../../src/data/escape.js'
import { formatArgs, parseLogEntries } from '../../../src/metrics/log-reply.js'
import { jsonFixture } from './fixtures.js'

const truncated = jsonFixture<{ slowlog: unknown[]; latency: unknown[] }>(
  'metrics/slowlog-7.0-truncated.json',
)
const debug = jsonFixture<{ slowlog: unknown[]; latency: unknown[] }>('metrics/slowlog-7.0-debug.json')

describe('SLOWLOG GET parsing (captured Redis 7.0 replies)', () => {
  it('reads id, time, duration, args, client', () => {
    const entries = parseLogEntries(debug.slowlog)
    expect(entries).toEqual([
      { id: 1, at: 1795330553000, value: 20098, args: ['DEBUG', 'SLEEP', '0.02'], client: '127.0.0.1:36346' },
      { id: 0, at: 1795330553000, value: 30119, args: ['DEBUG', 'SLEEP', '0.03'], client: '127.0.0.1:36332' },
    ])
  })

  it('marks arguments the server cut: "... (N more arguments)" and "... (N more bytes)"', () => {
    const [ack, rpush, set] = parseLogEntries(truncated.slowlog)
    expect(ack.args).toEqual(['REPLCONF', 'ACK', '233711'])
    expect(rpush.args).toHaveLength(31)
    expect(rpush.args.slice(0, 3)).toEqual(['rpush', '{a}l', '1'])
    expect(rpush.args[30]).toBe('29')
    expect(rpush.moreArguments).toBe(11) // 42 arguments sent: 31 kept, 11 more
    expect(set.args[2]).toBe('x'.repeat(128))
    expect(set.truncatedArgs).toEqual([{ index: 2, moreBytes: 72 }]) // a 200-byte value
    expect(formatArgs(set)).toBe(`set k1 ${'x'.repeat(128)}... (72 more bytes)`)
    expect(formatArgs(rpush).endsWith('28 29 ... (11 more arguments)')).toBe(true)
  })

  it('keeps binary arguments binary-safe, escaped the way redis-cli prints them', () => {
    const reply = [
      [
        7,
        1700000000,
        15000,
        [Buffer.from('SET'), Buffer.from([0x6b, 0xff, 0x0d, 0x0a, 0x00, 0x22, 0x5c]), Buffer.from('v')],
        Buffer.from('10.0.0.1:5555'),
        Buffer.from('worker-1'),
      ],
    ]
    const [e] = parseLogEntries(reply)
    expect(e.args).toEqual(['SET', 'k\\xff\\r\\n\\x00\\"\\\\', 'v'])
    expect(e.clientName).toBe('worker-1')
    expect(escapeBytes(Buffer.from('\x07\x08\t ~'))).toBe('\\a\\b\\t ~')
  })

  it('old 4-field entries and junk are tolerated', () => {
    expect(parseLogEntries([[3, 1600000000, 12000, ['KEYS', '*']], ['bad'], 'x', [1, 'nan', 2, []]])).toEqual(
      [{ id: 3, at: 1600000000000, value: 12000, args: ['KEYS', '*'], client: '' }],
    )
    expect(parseLogEntries(null)).toEqual([])
  })
})
