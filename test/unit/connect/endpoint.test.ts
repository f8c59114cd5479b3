import { afterEach, describe, expect, it } from 'vitest'
import {
  describeEndpoint,
  maskUrl,
  parseEndpointUrl,
  parseHostPort,
  passwordsInArgs,
} from '../../../src/connect/endpoint.js'
import { UsageError } from '../../../src/errors.js'
import { toKvtopError } from '../../../src/error-mapping.js'
import { forgetSecretsForTests, redact } from '../../../src/redact.js'

afterEach(() => forgetSecretsForTests())

describe('parseEndpointUrl', () => {
  it.each([
    ['redis://localhost', { host: 'localhost', port: 6379, tls: false, db: 0 }],
    ['redis://10.0.0.5:7000/3', { host: '10.0.0.5', port: 7000, tls: false, db: 3 }],
    ['rediss://cache.example.com:6380', { host: 'cache.example.com', port: 6380, tls: true, db: 0 }],
    [
      'redis://app:s3cr%40t@host:1234',
      { host: 'host', port: 1234, tls: false, db: 0, username: 'app', password: 's3cr@t' },
    ],
    ['redis://:onlypass@host', { host: 'host', port: 6379, tls: false, db: 0, password: 'onlypass' }],
    ['redis://[::1]:7001', { host: '::1', port: 7001, tls: false, db: 0 }],
    [
      'rediss://user:@[2001:db8::2]/1',
      { host: '2001:db8::2', port: 6379, tls: true, db: 1, username: 'user' },
    ],
    ['127.0.0.1:7000', { host: '127.0.0.1', port: 7000, tls: false, db: 0 }],
    ['REDIS://Host:1', { host: 'host', port: 1, tls: false, db: 0 }],
  ])('parses %s', (input, expected) => {
    expect(parseEndpointUrl(input)).toEqual(expected)
  })

  it.each([
    ['', /empty endpoint URL/],
    ['http://host:6379', /unsupported URL scheme 'http'/],
    ['redis://host:abc', /invalid port 'abc'/],
    ['redis://host:70000', /invalid port '70000'/],
    ['redis://host:0', /invalid port '0'/],
    ['redis://host:6379/x', /invalid database 'x'/],
    ['redis://host:6379?tls=1', /unexpected query string/],
    ['redis://[::1', /malformed endpoint URL/],
  ])('rejects %j', (input, message) => {
    expect(() => parseEndpointUrl(input)).toThrow(UsageError)
    expect(() => parseEndpointUrl(input)).toThrow(message)
  })

  it('never puts the password into an error message', () => {
    try {
      parseEndpointUrl('redis://u:Zq9-very-secret@host:notaport')
      expect.unreachable()
    } catch (err) {
      expect((err as Error).message).not.toContain('Zq9-very-secret')
      expect((err as Error).message).toContain('redis://u:***@host:notaport')
    }
  })

  it('describes an endpoint without its password', () => {
    expect(describeEndpoint(parseEndpointUrl('rediss://app:pw123@[::1]:7000/2'))).toBe(
      'rediss://app@[::1]:7000/2',
    )
  })
})

describe('parseEndpointUrl: userinfo and bad input', () => {
  it('splits the userinfo at the last @: "/" and "@" may appear unencoded in a password', () => {
    expect(parseEndpointUrl('redis://ops:pa/ss@127.0.0.1')).toEqual({
      host: '127.0.0.1',
      port: 6379,
      tls: false,
      db: 0,
      username: 'ops',
      password: 'pa/ss',
    })
    expect(parseEndpointUrl('rediss://ops:p@s/s:w#rd@cache.example.com:6380/2')).toEqual({
      host: 'cache.example.com',
      port: 6380,
      tls: true,
      db: 2,
      username: 'ops',
      password: 'p@s/s:w#rd',
    })
  })

  it('reads redis://SECRET@host as redis-cli does: a password for the default user, registered for redaction', () => {
    const e = parseEndpointUrl('redis://Bare-Secret-77@10.0.0.1:7000')
    expect(e).toEqual({ host: '10.0.0.1', port: 7000, tls: false, db: 0, password: 'Bare-Secret-77' })
    expect(e.username).toBeUndefined()
    expect(redact('AUTH failed for Bare-Secret-77 at redis://Bare-Secret-77@10.0.0.1:7000')).not.toContain(
      'Bare-Secret-77',
    )
  })

  it.each([
    ['redis://ops:p%zz@host', 'password'],
    ['redis://u%zz:pw@host', 'user name'],
    ['redis://ho%zzst:6379', 'host'],
  ])('a bad percent escape in %s is a usage error naming the %s', (url, field) => {
    let caught: unknown
    try {
      parseEndpointUrl(url)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(UsageError)
    const mapped = toKvtopError(caught)
    expect(mapped.exitCode).toBe(2)
    expect(mapped.message).toContain(`percent-encoding in the ${field}`)
    expect(mapped.message).not.toMatch(/internal error/)
  })

  it.each([
    ['redis://ops:pa/ss@127.0.0.1:99999', /invalid port '99999'/],
    ['redis://ops:pa/ss@:6379', /no host/],
    ['redis://ops:pa/ss@', /no host/],
    ['redis://', /no host/],
    ['http://ops:pa/ss@host', /unsupported URL scheme 'http'/],
    ['unix://ops:pa/ss@/tmp/redis.sock', /unsupported URL scheme 'unix'/],
    ['redis://ho st:1', /invalid host/],
    ['redis://::1:6379', /invalid port/],
    ['redis:/host', /malformed endpoint URL/],
    ['redis://host#frag', /unexpected fragment/],
  ])('%s: exit 2 naming the field, the password masked', (url, message) => {
    let caught: unknown
    try {
      parseEndpointUrl(url)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(UsageError)
    expect(toKvtopError(caught).exitCode).toBe(2)
    expect((caught as Error).message).toMatch(message)
    expect((caught as Error).message).not.toContain('pa/ss')
    expect((caught as Error).message).not.toMatch(/\bss@/)
  })

  it('masks the password in messages, whatever it holds', () => {
    expect(maskUrl('redis://ops:pa/ss@127.0.0.1:1')).toBe('redis://ops:***@127.0.0.1:1')
    expect(maskUrl('redis://Bare-Secret@host')).toBe('redis://***@host')
    expect(maskUrl('redis://a@b:c/d@host/0')).toBe('redis://a@b:***@host/0')
    expect(maskUrl('redis://host:6379')).toBe('redis://host:6379')
  })

  it('finds the passwords of URLs among command-line arguments, and only there', () => {
    expect(
      passwordsInArgs([
        'discover',
        'redis://ops:pa/ss@127.0.0.1',
        '--source=rediss://Bare-Pw@h',
        '--target',
        'redis://u%40x:p%40ss@h',
        'redis://h:6379',
        'redis://user:@h',
        'sandbox:default',
      ]),
    ).toEqual(['pa/ss', 'Bare-Pw', 'p%40ss', 'p@ss'])
  })
})

describe('parseHostPort', () => {
  it('parses IPv4, names and bracketed IPv6', () => {
    expect(parseHostPort('10.1.2.3:7000')).toEqual({ host: '10.1.2.3', port: 7000 })
    expect(parseHostPort('node-a:6379')).toEqual({ host: 'node-a', port: 6379 })
    expect(parseHostPort('[fe80::1]:6379')).toEqual({ host: 'fe80::1', port: 6379 })
  })
  it('rejects missing ports and bad numbers', () => {
    expect(() => parseHostPort('host')).toThrow(/expected host:port/)
    expect(() => parseHostPort('host:99999')).toThrow(/invalid port/)
  })
})
