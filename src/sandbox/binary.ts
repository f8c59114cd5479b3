import { accessSync, constants, existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
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

export function installHint(): string {
  if (process.platform === 'darwin') return 'Install it with: brew install redis'
  if (existsSync('/etc/debian_version'))
    return 'Install it with: sudo apt-get install -y redis-server (or run: npm run setup:redis)'
  if (existsSync('/etc/redhat-release')) return 'Install it with: sudo dnf install -y redis'
  if (existsSync('/etc/alpine-release')) return 'Install it with: apk add redis'
  return 'Install redis-server or valkey-server, or point KVTOP_REDIS_SERVER at the binary.'
}

/** The server binary sandboxes run: KVTOP_REDIS_SERVER, else redis-server or valkey-server on PATH. */
export function findServerBinary(env: NodeJS.ProcessEnv = process.env): ServerBinary {
  const explicit = env.KVTOP_REDIS_SERVER
  const path = explicit || onPath('redis-server', env) || onPath('valkey-server', env)
  if (!path) {
    throw new UsageError('no redis-server or valkey-server binary found', {
      code: 'no-server-binary',
      hint: installHint(),
    })
  }
  const out = spawnSync(path, ['--version'], { encoding: 'utf8' })
  if (out.error || out.status !== 0) {
    throw new UsageError(`cannot run server binary ${path}: ${out.error?.message ?? out.stderr.trim()}`, {
      code: 'no-server-binary',
      hint: explicit ? 'Check KVTOP_REDIS_SERVER.' : installHint(),
    })
  }
  const text = out.stdout
  const engine = /valkey/i.test(text) ? 'valkey' : 'redis'
  const version = /v=(\S+)/.exec(text)?.[1] ?? 'unknown'
  return { path, engine, version }
}
