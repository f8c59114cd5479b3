import { describe, expect, it } from 'vitest'
import {
  classifyReply,
  isCommandRefusal,
  isPayloadRefusal,
  parseAddress,
  parseRedirect,
} from '../../../src/wire/classify.js'
import { RespError } from '../../../src/wire/reply-parser.js'
import { CommandBatch } from '../../../src/wire/routed-pipeline.js'

const err = (m: string) => new RespError(m)

describe('classifyReply: one answer to "was it written?"', () => {
  it('any reply that is not an error is an acknowledgement', () => {
    for (const r of ['OK', 0, 1n, Buffer.from('x'), null, [err('ERR inside an array')]])
      expect(classifyReply(r)).toBe('ok')
  })

  it.each([
    "OOM command not allowed when used memory > 'maxmemory'.",
    "READONLY You can't write against a read only replica.",
    'LOADING Redis is loading the dataset in memory',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'CLUSTERDOWN The cluster is down',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
    'BUSY Redis is busy running a script.',
    'NOREPLICAS Not enough good replicas to write.',
  ])('refused for now: %s', (m) => expect(classifyReply(err(m))).toBe('retryable'))

  it.each(['MOVED 3999 127.0.0.1:6381', 'ASK 3999 [::1]:7000'])('redirect: %s', (m) =>
    expect(classifyReply(err(m))).toBe('redirect'),
  )

  it.each([
    "NOPERM User app has no permissions to run the 'restore' command",
    "ERR unknown command 'RESTORE', with args beginning with: ",
    'ERR DUMP payload version or checksum are wrong',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'BUSYKEY Target key name already exists.',
    'ERR syntax error',
    'EXECABORT Transaction discarded because of previous errors.',
  ])('refused for good: %s', (m) => expect(classifyReply(err(m))).toBe('refused'))

  it('names the kinds of refusal operations explain differently', () => {
    expect(isPayloadRefusal(err('ERR DUMP payload version or checksum are wrong'))).toBe(true)
    expect(isPayloadRefusal(err('ERR Bad data format'))).toBe(true)
    expect(isPayloadRefusal(err('NOPERM x'))).toBe(false)
    expect(isCommandRefusal(err("NOPERM User x has no permissions to run the 'config|get' command"))).toBe(
      true,
    )
    expect(isCommandRefusal(err("ERR unknown command 'SYNC', with args beginning with: "))).toBe(true)
    expect(isCommandRefusal(err("ERR unknown subcommand 'FOO'. Try CLIENT HELP."))).toBe(true)
    expect(isCommandRefusal(err('OOM command not allowed'))).toBe(true) // "not allowed": a refusal text, not a retry signal
    expect(isCommandRefusal(err('WRONGTYPE Operation against a key'))).toBe(false)
  })
})

describe('addresses and redirects', () => {
  it('parses host:port, [v6]:port and bare v6 with the last colon as separator', () => {
    expect(parseAddress('10.0.0.5:6379')).toEqual({ host: '10.0.0.5', port: 6379 })
    expect(parseAddress('[::1]:7000')).toEqual({ host: '::1', port: 7000 })
    expect(parseAddress('fe80::1:7000')).toEqual({ host: 'fe80::1', port: 7000 })
    expect(parseAddress('node-1.example:6380')).toEqual({ host: 'node-1.example', port: 6380 })
  })

  it('refuses what is not an address', () => {
    for (const bad of ['', ':6379', 'host', 'host:', 'host:0', 'host:65536', 'host:12ab'])
      expect(parseAddress(bad)).toBeUndefined()
  })

  it('reads MOVED and ASK targets, nothing else', () => {
    expect(parseRedirect(err('MOVED 12 10.1.2.3:6379'))).toEqual({
      kind: 'MOVED',
      slot: 12,
      host: '10.1.2.3',
      port: 6379,
    })
    expect(parseRedirect(err('ASK 7 [fe80::2]:7001'))).toMatchObject({
      kind: 'ASK',
      host: 'fe80::2',
      port: 7001,
    })
    expect(parseRedirect(err('MOVED 12'))).toBeUndefined()
    expect(parseRedirect(err('ERR MOVED 12 a:1'))).toBeUndefined()
  })
})

describe('CommandBatch: operations queue commands, never bytes', () => {
  it('encodes commands, SELECT and RESTORE byte for byte, binary-safe', () => {
    const b = new CommandBatch<string>(16)
    const key = Buffer.from([0x00, 0x0d, 0x0a, 0xff])
    b.select(9)
    b.end('select')
    b.command(['SET', key, 'é', -12])
    b.end('set')
    b.restore(key, 1700000000000, Buffer.from('payload'), { replace: true, absolute: true })
    b.end('restore')
    b.restore(key, 0, Buffer.from('p'), { replace: false, absolute: false })
    b.end('plain')
    expect(b.count).toBe(4)
    expect(b.commandBytes(0).toString('latin1')).toBe('*2\r\n$6\r\nSELECT\r\n$1\r\n9\r\n')
    expect(b.commandBytes(1)).toEqual(
      Buffer.concat([
        Buffer.from('*4\r\n$3\r\nSET\r\n$4\r\n'),
        key,
        Buffer.from('\r\n$2\r\n'),
        Buffer.from('é', 'utf8'),
        Buffer.from('\r\n$3\r\n-12\r\n'),
      ]),
    )
    expect(b.commandBytes(2)).toEqual(
      Buffer.concat([
        Buffer.from('*6\r\n$7\r\nRESTORE\r\n$4\r\n'),
        key,
        Buffer.from('\r\n$13\r\n1700000000000\r\n$7\r\npayload\r\n$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n'),
      ]),
    )
    expect(b.commandBytes(3)).toEqual(
      Buffer.concat([
        Buffer.from('*4\r\n$7\r\nRESTORE\r\n$4\r\n'),
        key,
        Buffer.from('\r\n$1\r\n0\r\n$1\r\np\r\n'),
      ]),
    )
    expect(b.tags).toEqual(['select', 'set', 'restore', 'plain'])
  })
})
