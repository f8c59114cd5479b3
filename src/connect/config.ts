import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseJsonText } from '../json-text.js'
import { UsageError } from '../errors.js'
import { registerSecret } from '../redact.js'
import { parseEndpointUrl } from './endpoint.js'

export interface Profile {
  url?: string
  user?: string
  password?: string
  tlsCa?: string
  insecure?: boolean
  timeout?: number
  natMap?: Record<string, string>
  region?: string
  /** AWS named profile (~/.aws/config) whose credentials reach the deployment. */
  awsProfile?: string
  elasticache?: string
  serverless?: string
  memorydb?: string
  /** Authenticate with IAM auth tokens (the user is `user`; TLS only). */
  iam?: boolean
  /** `kvtop check` levels for this deployment, by check: `{"memory": "80:95"}` (over the global ones). */
  checks?: Record<string, string>
}

interface KvtopConfig {
  profiles: Record<string, Profile>
  /** `kvtop check` levels for every deployment, by check: `{"lag-bytes": "1mb:10mb"}`. */
  checks?: Record<string, string>
}

function configDir(env: NodeJS.ProcessEnv = process.env): string {
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
    parsed = parseJsonText(text)
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
  const checks = (parsed as { checks?: unknown })?.checks
  if (checks !== undefined && !isStringMap(checks)) {
    throw new UsageError(`config file ${path}: "checks" must be an object of "check": "WARN:CRIT"`)
  }
  return {
    profiles: (profiles ?? {}) as Record<string, Profile>,
    ...(checks !== undefined ? { checks: checks as Record<string, string> } : {}),
  }
}

function isStringMap(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === 'string')
  )
}

const PROFILE_FIELDS: Record<keyof Profile, 'string' | 'boolean' | 'number' | 'map' | 'checks'> = {
  url: 'string',
  user: 'string',
  password: 'string',
  tlsCa: 'string',
  insecure: 'boolean',
  timeout: 'number',
  natMap: 'map',
  region: 'string',
  awsProfile: 'string',
  elasticache: 'string',
  serverless: 'string',
  memorydb: 'string',
  iam: 'boolean',
  checks: 'checks',
}

/** A profile's fields have the types kvtop reads them as: a wrong one is a usage error naming it. */
export function checkProfile(name: string, value: unknown, path: string): Profile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`config file ${path}: profile '${name}' must be an object`)
  }
  const profile = value as Record<string, unknown>
  for (const [field, kind] of Object.entries(PROFILE_FIELDS)) {
    const v = profile[field]
    if (v === undefined) continue
    const ok = kind === 'map' || kind === 'checks' ? isStringMap(v) : typeof v === kind
    if (!ok) {
      const expected =
        kind === 'map'
          ? 'an object of "host:port": "host:port"'
          : kind === 'checks'
            ? 'an object of "check": "WARN:CRIT"'
            : `a ${kind}`
      throw new UsageError(`config file ${path}: "${field}" of profile '${name}' must be ${expected}`)
    }
  }
  return profile as Profile
}

export function getProfile(name: string, env: NodeJS.ProcessEnv = process.env): Profile {
  const config = loadConfig(env)
  const profile = Object.hasOwn(config.profiles, name) ? config.profiles[name] : undefined
  if (!profile) {
    const known = Object.keys(config.profiles)
    throw new UsageError(`no profile named '${name}' in ${configPath(env)}`, {
      hint: known.length ? `Known profiles: ${known.join(', ')}.` : 'The file defines no profiles yet.',
    })
  }
  const checked = checkProfile(name, profile, configPath(env))
  // Whatever the profile holds is secret, used this time or not (a URL argument may win).
  registerSecret(checked.password)
  if (checked.url) {
    try {
      parseEndpointUrl(checked.url, { bareUserinfo: 'user' }) // registers the URL's password
    } catch {
      // a broken URL is reported when it is used
    }
  }
  return checked
}
