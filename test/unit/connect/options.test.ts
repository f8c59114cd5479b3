import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { configPath, getProfile, loadConfig } from '../../../src/connect/config.js'
import { resolveConnectionSpec, type ProfileSources } from '../../../src/connect/options.js'
import { forgetSecretsForTests } from '../../../src/redact.js'

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
    url: 'rediss://ops@prod.example.com:6380',
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

describe('config file', () => {
  it('respects XDG_CONFIG_HOME', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x/y' })).toBe('/x/y/kvtop/config.json')
  })
  it('treats a missing file as empty and a broken one as a usage error', () => {
    expect(loadConfig({ XDG_CONFIG_HOME: '/nonexistent-kvtop' })).toEqual({ profiles: {} })
    expect(() => loadConfig(configHome('{not json'))).toThrow(/is not valid JSON/)
    expect(() => loadConfig(configHome('{"profiles": []}'))).toThrow(/must be an object/)
  })
})
