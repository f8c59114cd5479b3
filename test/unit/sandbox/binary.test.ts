import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../../src/errors.js'
import { findServerBinary } from '../../../src/sandbox/binary.js'

const root = mkdtempSync(join(tmpdir(), 'kvtop-binary-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** A stand-in server binary that prints what `--version` prints. */
function fake(dir: string, name: string, engine: 'redis' | 'valkey', version: string): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, name)
  const line =
    engine === 'valkey'
      ? `Valkey server v=${version} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1`
      : `Redis server v=${version} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1`
  writeFileSync(path, `#!/bin/sh\necho "${line}"\n`)
  chmodSync(path, 0o755)
  return path
}

const redisDir = join(root, 'redis-bin')
const valkeyDir = join(root, 'valkey-bin')
const redis = fake(redisDir, 'redis-server', 'redis', '7.0.15')
fake(valkeyDir, 'valkey-server', 'valkey', '8.0.1')
const explicit = fake(join(root, 'explicit'), 'my-valkey', 'valkey', '8.0.2')
const home = join(root, 'home')
const cached = fake(
  join(home, '.cache', 'kvtop-valkey', 'valkey-8.0.1-tls-no', 'src'),
  'valkey-server',
  'valkey',
  '8.0.1',
)

/** Nothing but what the case gives. */
const env = (e: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  PATH: '/nonexistent',
  HOME: join(root, 'empty'),
  ...e,
})

function refusal(fn: () => unknown): UsageError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    return err as UsageError
  }
  throw new Error('expected a refusal')
}

describe('which server binary a sandbox runs', () => {
  it('--engine valkey: KVTOP_VALKEY_SERVER, else valkey-server on PATH, else the build cache', () => {
    const all = { PATH: `${redisDir}:${valkeyDir}`, HOME: home }
    expect(findServerBinary(env({ ...all, KVTOP_VALKEY_SERVER: explicit }), { engine: 'valkey' })).toEqual({
      path: explicit,
      engine: 'valkey',
      version: '8.0.2',
    })
    expect(findServerBinary(env(all), { engine: 'valkey' }).path).toBe(join(valkeyDir, 'valkey-server'))
    expect(findServerBinary(env({ HOME: home }), { engine: 'valkey' }).path).toBe(cached)
    // XDG_CACHE_HOME and KVTOP_VALKEY_CACHE move the cache.
    expect(findServerBinary(env({ XDG_CACHE_HOME: join(home, '.cache') }), { engine: 'valkey' }).path).toBe(
      cached,
    )
    expect(
      findServerBinary(env({ KVTOP_VALKEY_CACHE: join(home, '.cache', 'kvtop-valkey') }), {
        engine: 'valkey',
      }).path,
    ).toBe(cached)
  })

  it('--engine valkey with none: exit 2 naming what to set', () => {
    const err = refusal(() => findServerBinary(env({ PATH: redisDir }), { engine: 'valkey' }))
    expect(err.message).toBe('no valkey-server binary found')
    expect(err.code).toBe('no-server-binary')
    expect(err.hint).toMatch(/KVTOP_VALKEY_SERVER/)
    expect(err.hint).toMatch(/kvtop-valkey[/\\]valkey-8\.0\.1-tls-no[/\\]src[/\\]valkey-server/)
  })

  it('--engine redis: KVTOP_REDIS_SERVER or redis-server on PATH, never valkey-server; a Valkey binary under its name is refused', () => {
    expect(findServerBinary(env({ PATH: `${valkeyDir}:${redisDir}` }), { engine: 'redis' })).toEqual({
      path: redis,
      engine: 'redis',
      version: '7.0.15',
    })
    const none = refusal(() => findServerBinary(env({ PATH: valkeyDir }), { engine: 'redis' }))
    expect(none.message).toBe('no redis-server binary found')
    expect(none.hint).toMatch(/KVTOP_REDIS_SERVER/)
    const compat = fake(join(root, 'compat'), 'redis-server', 'valkey', '8.0.1')
    const wrong = refusal(() => findServerBinary(env({ KVTOP_REDIS_SERVER: compat }), { engine: 'redis' }))
    expect(wrong.message).toMatch(/^--engine redis: .* is valkey-server 8\.0\.1, not redis-server$/)
  })

  it('no --engine: redis when found, else valkey-server on PATH (as before); a given path wins', () => {
    expect(findServerBinary(env({ PATH: `${valkeyDir}:${redisDir}` })).engine).toBe('redis')
    expect(findServerBinary(env({ PATH: valkeyDir })).engine).toBe('valkey')
    expect(findServerBinary(env({ PATH: redisDir }), { path: explicit })).toMatchObject({
      path: explicit,
      engine: 'valkey',
    })
    const err = refusal(() => findServerBinary(env({})))
    expect(err.message).toBe('no redis-server or valkey-server binary found')
    expect(err.hint).toMatch(/--engine valkey/)
  })
})
