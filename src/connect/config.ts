import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { UsageError } from '../errors.js'

export interface Profile {
  url?: string
  user?: string
  password?: string
  tlsCa?: string
  insecure?: boolean
  timeout?: number
  natMap?: Record<string, string>
  region?: string
  elasticache?: string
  memorydb?: string
}

export interface KvtopConfig {
  profiles: Record<string, Profile>
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(base, 'kvtop')
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json')
}

/** Read ~/.config/kvtop/config.json; a missing file is an empty config, a broken one an error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): KvtopConfig {
  const path = configPath(env)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} }
    throw new UsageError(`cannot read config file ${path}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(err as Error).message}`, {
      hint: 'Fix the file or move it away; expected {"profiles": {"name": {"url": "redis://..."}}}.',
    })
  }
  const profiles = (parsed as { profiles?: unknown })?.profiles
  if (
    profiles !== undefined &&
    (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles))
  ) {
    throw new UsageError(`config file ${path}: "profiles" must be an object of named profiles`)
  }
  return { profiles: (profiles ?? {}) as Record<string, Profile> }
}

export function getProfile(name: string, env: NodeJS.ProcessEnv = process.env): Profile {
  const config = loadConfig(env)
  const profile = config.profiles[name]
  if (!profile) {
    const known = Object.keys(config.profiles)
    throw new UsageError(`no profile named '${name}' in ${configPath(env)}`, {
      hint: known.length ? `Known profiles: ${known.join(', ')}.` : 'The file defines no profiles yet.',
    })
  }
  return profile
}
