import { describe, expect, it } from 'vitest'
import { describeEndpoint, parseEndpointUrl, parseHostPort } from '../../../src/connect/endpoint.js'
import { UsageError } from '../../../src/errors.js'

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
      'rediss://user@[2001:db8::2]/1',
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
