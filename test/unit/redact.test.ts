import { afterEach, describe, expect, it } from 'vitest'
import { forgetSecretsForTests, redact, redactDeep, registerSecret } from '../../src/redact.js'

afterEach(() => forgetSecretsForTests())

describe('redact', () => {
  it('masks passwords in URLs of any scheme and keeps the user', () => {
    expect(redact('cannot reach redis://app:hunter22@10.0.0.1:6379/0')).toBe(
      'cannot reach redis://app:***@10.0.0.1:6379/0',
    )
    // The password runs to the last '@': '@' and '/' inside it are masked with the rest.
    expect(redact('rediss://:tok@en@host')).toBe('rediss://:***@host')
    expect(redact('cannot reach redis://ops:pa/ss@127.0.0.1:1 (refused)')).toBe(
      'cannot reach redis://ops:***@127.0.0.1:1 (refused)',
    )
    expect(redact('"redis://u:p@w/d@h" and mail@example.com')).toBe('"redis://u:***@h" and mail@example.com')
    // `user@` in kvtop's own descriptions (describeEndpoint) is a user name; a bare password parsed
    // from a URL is registered as a secret and masked that way (see endpoint.test.ts).
    expect(redact('redis://user@host')).toBe('redis://user@host')
  })

  it('masks every registered secret wherever it appears, raw or URL-encoded', () => {
    registerSecret('p@ss w0rd!')
    expect(redact('AUTH failed with p@ss w0rd! and p%40ss%20w0rd!')).not.toMatch(/p@ss|p%40ss/)
  })

  it('masks key=value secrets, AUTH commands and SigV4 query parameters', () => {
    expect(redact('password=abc123 token: "xyz"')).toBe('password=*** token: "***"')
    expect(redact('"AUTH" "default" "pw"')).not.toContain('pw"')
    expect(redact('AUTH app s3cret')).toBe('AUTH app ***')
    expect(redact('host/?Action=connect&X-Amz-Credential=AKIA%2F&X-Amz-Signature=deadbeef')).toBe(
      'host/?Action=connect&X-Amz-Credential=***&X-Amz-Signature=***',
    )
  })

  it('ignores too-short secrets that would mangle unrelated text', () => {
    registerSecret('ab')
    expect(redact('abc ab')).toBe('abc ab')
  })

  it('redacts nested values and secret-named fields in JSON bundles', () => {
    registerSecret('Zx-distinctive-9')
    const out = redactDeep({
      url: 'redis://u:Zx-distinctive-9@h',
      nested: [{ password: 'plain' }, 'Zx-distinctive-9'],
      n: 3,
    })
    expect(out).toEqual({ url: 'redis://u:***@h', nested: [{ password: '***' }, '***'], n: 3 })
  })
})
