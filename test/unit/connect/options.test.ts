import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { configPath, getProfile, loadConfig } from '../../../src/connect/config.js'
import { resolveConnectionSpec, type ProfileSources } from '../../../src/connect/options.js'
import { pairInputs } from '../../../src/pair-flags.js'
import { forgetSecretsForTests, redact } from '../../../src/redact.js'

afterEach(() => forgetSecretsForTests())

function configHome(profiles: unknown): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'kvtop-cfg-'))
  mkdirSync(join(home, 'kvtop'))
  writeFileSync(
    join(home, 'kvtop', 'config.json'),
    typeof profiles === 'string' ? profiles : JSON.stringify({ profiles }),
  )
  return { XDG_CONFIG_HOME: home }
}

const env = configHome({
  prod: {
    url: 'rediss://ops:@prod.example.com:6380',
    password: 'profile-pw',
    timeout: 2,
    natMap: { '10.0.0.1:6379': '127.0.0.1:16379' },
  },
  bare: { user: 'reader' },
})
const sources: ProfileSources = {
  profile: (name) => getProfile(name, env),
  sandbox: (name) =>
    name === 'default' ? { url: 'redis://127.0.0.1:45000', password: 'sandbox-pw' } : undefined,
}

describe('connection precedence: flag > env > profile > default', () => {
  it('takes everything from the profile when nothing else is given', () => {
    const spec = resolveConnectionSpec({ profile: 'prod' }, env, sources)
    expect(spec.endpoint).toMatchObject({
      host: 'prod.example.com',
      port: 6380,
      tls: true,
      username: 'ops',
      password: 'profile-pw',
    })
    expect(spec.timeoutMs).toBe(2000)
    expect(spec.natMap.get('10.0.0.1:6379')).toEqual({ host: '127.0.0.1', port: 16379 })
  })

  it('env beats profile, flags beat env', () => {
    const e = { ...env, KVTOP_PASSWORD: 'env-pw', KVTOP_TIMEOUT: '3' }
    expect(resolveConnectionSpec({ profile: 'prod' }, e, sources)).toMatchObject({
      timeoutMs: 3000,
      endpoint: { password: 'env-pw' },
    })
    const flagged = resolveConnectionSpec(
      { profile: 'prod', url: 'rediss://x:url-pw@other:1', timeout: 0.25, user: 'flaguser' },
      e,
      sources,
    )
    expect(flagged.endpoint).toMatchObject({
      host: 'other',
      port: 1,
      password: 'url-pw',
      username: 'flaguser',
    })
    expect(flagged.timeoutMs).toBe(250)
  })

  it('an empty variable counts as unset: the profile password still applies', () => {
    expect(
      resolveConnectionSpec({ profile: 'prod' }, { ...env, KVTOP_PASSWORD: '', REDISCLI_AUTH: '' }, sources)
        .endpoint.password,
    ).toBe('profile-pw')
  })

  it('KVTOP_PASSWORD beats REDISCLI_AUTH, which beats the profile', () => {
    expect(
      resolveConnectionSpec({ profile: 'prod' }, { ...env, REDISCLI_AUTH: 'cli-pw' }, sources).endpoint
        .password,
    ).toBe('cli-pw')
    expect(
      resolveConnectionSpec(
        { profile: 'prod' },
        { ...env, REDISCLI_AUTH: 'cli-pw', KVTOP_PASSWORD: 'kv-pw' },
        sources,
      ).endpoint.password,
    ).toBe('kv-pw')
  })

  it('falls back to the running default sandbox, then to localhost:6379', () => {
    expect(resolveConnectionSpec({}, env, sources).endpoint).toMatchObject({
      port: 45000,
      password: 'sandbox-pw',
    })
    const none: ProfileSources = { ...sources, sandbox: () => undefined }
    expect(resolveConnectionSpec({}, env, none).endpoint).toMatchObject({ host: '127.0.0.1', port: 6379 })
    expect(resolveConnectionSpec({}, env, none).timeoutMs).toBe(5000)
  })

  it('resolves sandbox:NAME profiles and explains unknown ones', () => {
    expect(resolveConnectionSpec({ profile: 'sandbox:default' }, env, sources).endpoint.port).toBe(45000)
    expect(() => resolveConnectionSpec({ profile: 'sandbox:nope' }, env, sources)).toThrow(
      /no running sandbox named 'nope'/,
    )
    expect(() => resolveConnectionSpec({ profile: 'missing' }, env, sources)).toThrow(
      /no profile named 'missing'.*Known profiles|no profile named 'missing'/,
    )
  })

  it('refuses TLS options on a plain URL and bad timeouts', () => {
    expect(() => resolveConnectionSpec({ url: 'redis://h', insecure: true }, env, sources)).toThrow(
      /TLS connections only/,
    )
    expect(() =>
      resolveConnectionSpec({ url: 'redis://h' }, { ...env, KVTOP_TIMEOUT: 'soon' }, sources),
    ).toThrow(/invalid timeout/)
  })
})

describe('an explicit profile beats KVTOP_URL', () => {
  const withUrl = { ...env, KVTOP_URL: 'redis://env-host:7777' }

  it('--profile NAME connects to the profile, not to KVTOP_URL', () => {
    expect(resolveConnectionSpec({ profile: 'prod' }, withUrl, sources).endpoint).toMatchObject({
      host: 'prod.example.com',
      port: 6380,
    })
  })

  it('--profile sandbox:NAME connects to the sandbox, not to KVTOP_URL', () => {
    expect(resolveConnectionSpec({ profile: 'sandbox:default' }, withUrl, sources).endpoint).toMatchObject({
      host: '127.0.0.1',
      port: 45000,
    })
  })

  it('--source/--target profile names beat KVTOP_URL too', () => {
    const { source, target } = pairInputs({ source: 'prod', target: 'redis://other:1' })
    expect(resolveConnectionSpec(source, withUrl, sources).endpoint.host).toBe('prod.example.com')
    expect(resolveConnectionSpec(target, withUrl, sources).endpoint.host).toBe('other')
  })

  it('order: URL or profile flag > KVTOP_URL > KVTOP_PROFILE > default sandbox > default', () => {
    expect(
      resolveConnectionSpec({ url: 'redis://flag:1', profile: 'prod' }, withUrl, sources).endpoint.host,
    ).toBe('flag')
    expect(resolveConnectionSpec({}, withUrl, sources).endpoint.host).toBe('env-host')
    expect(resolveConnectionSpec({}, { ...withUrl, KVTOP_PROFILE: 'prod' }, sources).endpoint.host).toBe(
      'env-host',
    )
    expect(resolveConnectionSpec({}, { ...env, KVTOP_PROFILE: 'prod' }, sources).endpoint.host).toBe(
      'prod.example.com',
    )
    expect(resolveConnectionSpec({}, env, sources).endpoint.port).toBe(45000)
  })

  it('a profile without a URL still takes KVTOP_URL, with the profile user', () => {
    expect(resolveConnectionSpec({ profile: 'bare' }, withUrl, sources).endpoint).toMatchObject({
      host: 'env-host',
      username: 'reader',
    })
  })
})

describe('redis://NAME@host in a profile or a sandbox names the user', () => {
  const profiles = configHome({
    named: { url: 'rediss://ops@prod.example.com:6380', password: 'profile-pw' },
    nopw: { url: 'redis://reader@h:1' },
  })
  const src: ProfileSources = {
    profile: (name) => getProfile(name, profiles),
    sandbox: (name) =>
      name === 'mdb' ? { url: 'redis://kvtop@127.0.0.1:45001', password: 'mdb-sandbox-pw' } : undefined,
  }

  it('a profile URL user@ is the user, with the profile password (README profile example)', () => {
    expect(resolveConnectionSpec({ profile: 'named' }, profiles, src).endpoint).toMatchObject({
      username: 'ops',
      password: 'profile-pw',
    })
    expect(redact('ops')).toBe('ops')
  })

  it('and with the password from the environment', () => {
    const spec = resolveConnectionSpec({ profile: 'nopw' }, { ...profiles, KVTOP_PASSWORD: 'env-pw' }, src)
    expect(spec.endpoint).toMatchObject({ username: 'reader', password: 'env-pw' })
  })

  it('--profile sandbox:NAME of a memorydb sandbox logs in as its ACL user', () => {
    expect(resolveConnectionSpec({ profile: 'sandbox:mdb' }, profiles, src).endpoint).toMatchObject({
      username: 'kvtop',
      password: 'mdb-sandbox-pw',
      port: 45001,
    })
  })

  it('the same URL given on the command line or in KVTOP_URL is read as redis-cli reads it', () => {
    expect(resolveConnectionSpec({ url: 'redis://reader@h:1' }, profiles, src).endpoint).toMatchObject({
      password: 'reader',
    })
    expect(
      resolveConnectionSpec({}, { ...profiles, KVTOP_URL: 'redis://reader@h:1' }, src).endpoint.username,
    ).toBeUndefined()
  })
})

describe('redis://SECRET@host', () => {
  it('is a password for the default user, and it beats KVTOP_PASSWORD as any URL password does', () => {
    const spec = resolveConnectionSpec(
      { url: 'redis://Bare-Url-Secret@h:1' },
      { ...env, KVTOP_PASSWORD: 'env-pw' },
      sources,
    )
    expect(spec.endpoint.password).toBe('Bare-Url-Secret')
    expect(spec.endpoint.username).toBeUndefined()
    expect(redact('connecting with Bare-Url-Secret')).toBe('connecting with ***')
  })
})

describe('config file', () => {
  it('respects XDG_CONFIG_HOME', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x/y' })).toBe('/x/y/kvtop/config.json')
  })
  it('refuses a profile field of the wrong type as a usage error naming it (never an internal error)', () => {
    const bad = configHome({ p: { url: 5 }, q: { natMap: ['x'] }, r: 'redis://h' })
    expect(() => getProfile('p', bad)).toThrow(/"url" of profile 'p' must be a string/)
    expect(() => getProfile('q', bad)).toThrow(/"natMap" of profile 'q' must be an object/)
    expect(() => getProfile('r', bad)).toThrow(/profile 'r' must be an object/)
    expect(() => getProfile('toString', bad)).toThrow(/no profile named 'toString'/)
  })

  it('registers the secrets a profile holds, used this time or not', () => {
    const home = configHome({ s: { url: 'redis://u:Profile-Url-Pw@h', password: 'Profile-Field-Pw' } })
    getProfile('s', home)
    expect(redact('Profile-Url-Pw Profile-Field-Pw')).toBe('*** ***')
  })

  it('treats a missing file as empty and a broken one as a usage error', () => {
    expect(loadConfig({ XDG_CONFIG_HOME: '/nonexistent-kvtop' })).toEqual({ profiles: {} })
    expect(() => loadConfig(configHome('{not json'))).toThrow(/is not valid JSON/)
    expect(() => loadConfig(configHome('{"profiles": []}'))).toThrow(/must be an object/)
  })
})
