import { accessSync, constants, existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import { UsageError } from '../errors.js'

export interface ServerBinary {
  path: string
  engine: 'redis' | 'valkey'
  version: string
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

function installHint(): string {
  if (process.platform === 'darwin') return 'Install it with: brew install redis'
  if (existsSync('/etc/debian_version'))
    return 'Install it with: sudo apt-get install -y redis-server (or run: npm run setup:redis)'
  if (existsSync('/etc/redhat-release')) return 'Install it with: sudo dnf install -y redis'
  if (existsSync('/etc/alpine-release')) return 'Install it with: apk add redis'
  return 'Install redis-server or valkey-server, or point KVTOP_REDIS_SERVER at the binary.'
}

export type ServerEngine = ServerBinary['engine']
export const ENGINES: ServerEngine[] = ['redis', 'valkey']

/** Where a Valkey build lives: ${KVTOP_VALKEY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvtop-valkey}. */
function valkeyCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.KVTOP_VALKEY_CACHE ||
    join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'kvtop-valkey')
  )
}

/** The valkey-server a build under the cache directory leaves (tools/build-valkey.sh). */
export function cachedValkeyServer(env: NodeJS.ProcessEnv = process.env): string {
  return join(valkeyCacheDir(env), 'valkey-8.0.1-tls-no', 'src', 'valkey-server')
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Where the binary of `engine` comes from, first match wins (undefined: none found). */
function locate(
  engine: ServerEngine | undefined,
  env: NodeJS.ProcessEnv,
): { path: string; source: string } | undefined {
  if (engine === 'valkey') {
    if (env.KVTOP_VALKEY_SERVER) return { path: env.KVTOP_VALKEY_SERVER, source: 'KVTOP_VALKEY_SERVER' }
    const onP = onPath('valkey-server', env)
    if (onP) return { path: onP, source: 'PATH' }
    const cached = cachedValkeyServer(env)
    return executable(cached) ? { path: cached, source: 'the Valkey build cache' } : undefined
  }
  if (env.KVTOP_REDIS_SERVER) return { path: env.KVTOP_REDIS_SERVER, source: 'KVTOP_REDIS_SERVER' }
  const redis = onPath('redis-server', env)
  if (redis) return { path: redis, source: 'PATH' }
  // No engine asked for: redis when found, else a valkey-server on PATH (as before --engine).
  const valkey = engine === undefined ? onPath('valkey-server', env) : undefined
  return valkey ? { path: valkey, source: 'PATH' } : undefined
}

function missingError(engine: ServerEngine | undefined, env: NodeJS.ProcessEnv): UsageError {
  if (engine === 'valkey') {
    return new UsageError('no valkey-server binary found', {
      code: 'no-server-binary',
      hint:
        'Set KVTOP_VALKEY_SERVER to a valkey-server binary, put valkey-server on PATH, or build Valkey 8.0.1 ' +
        `so that ${cachedValkeyServer(env)} exists (KVTOP_VALKEY_CACHE moves that directory).`,
    })
  }
  if (engine === 'redis') {
    return new UsageError('no redis-server binary found', {
      code: 'no-server-binary',
      hint: `${installHint()} Or set KVTOP_REDIS_SERVER to a redis-server binary.`,
    })
  }
  return new UsageError('no redis-server or valkey-server binary found', {
    code: 'no-server-binary',
    hint: `${installHint()} For Valkey: --engine valkey with KVTOP_VALKEY_SERVER set to a valkey-server binary.`,
  })
}

/**
 * The server binary sandboxes run.
 * - `engine` 'redis': KVTOP_REDIS_SERVER, else redis-server on PATH.
 * - `engine` 'valkey': KVTOP_VALKEY_SERVER, else valkey-server on PATH, else the Valkey build under
 *   ${KVTOP_VALKEY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvtop-valkey} when it is there.
 * - no engine: redis as above when found, else valkey-server on PATH.
 * `path` (a test's or a caller's own binary) wins over all of them. With an engine, a binary that
 * turns out to be the other engine (a redis-server that is Valkey's compatibility link) is refused.
 */
export function findServerBinary(
  env: NodeJS.ProcessEnv = process.env,
  options: { engine?: ServerEngine; path?: string } = {},
): ServerBinary {
  const engineAsked = options.engine
  const found = options.path ? { path: options.path, source: 'the given path' } : locate(engineAsked, env)
  if (!found) throw missingError(engineAsked, env)
  const { path, source } = found
  const setting =
    source === 'KVTOP_REDIS_SERVER' || source === 'KVTOP_VALKEY_SERVER' ? `Check ${source}.` : undefined
  const out = spawnSync(path, ['--version'], { encoding: 'utf8' })
  if (out.error || out.status !== 0) {
    throw new UsageError(
      `cannot run server binary ${path} (from ${source}): ${out.error?.message ?? out.stderr.trim()}`,
      {
        code: 'no-server-binary',
        hint: setting ?? (engineAsked === 'valkey' ? missingError('valkey', env).hint : installHint()),
      },
    )
  }
  const text = out.stdout
  const engine = /valkey/i.test(text) ? 'valkey' : 'redis'
  const version = /v=(\S+)/.exec(text)?.[1] ?? 'unknown'
  if (engineAsked && engine !== engineAsked) {
    throw new UsageError(
      `--engine ${engineAsked}: ${path} (from ${source}) is ${engine}-server ${version}, not ${engineAsked}-server`,
      {
        code: 'no-server-binary',
        hint:
          engineAsked === 'valkey'
            ? 'Point KVTOP_VALKEY_SERVER at a valkey-server binary.'
            : `Point KVTOP_REDIS_SERVER at a redis-server binary, or use --engine valkey.`,
      },
    )
  }
  return { path, engine, version }
}
