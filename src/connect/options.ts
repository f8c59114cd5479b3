import { UsageError } from '../errors.js'
import { registerSecret } from '../redact.js'
import type { ConnectionSpec } from './client.js'
import { getProfile, type Profile } from './config.js'
import { parseEndpointUrl } from './endpoint.js'
import type { TokenAuth } from './iam.js'
import { parseNatMap } from './nat-map.js'

const DEFAULT_TIMEOUT_SECONDS = 5

export interface ConnectionInput {
  url?: string
  user?: string
  tlsCa?: string
  insecure?: boolean
  /** Seconds, fractions allowed (as redis-cli -t). */
  timeout?: number
  profile?: string
  natMap?: string[]
  /** IAM token authentication (--iam): the tokens are the password; TLS is required. */
  iam?: TokenAuth
}

export interface ProfileSources {
  /** Named profiles from ~/.config/kvtop/config.json. */
  profile: (name: string) => Profile
  /** `sandbox:NAME` profiles and the implicit default sandbox. */
  sandbox: (name: string) => Profile | undefined
}

// The config file alone until a command installs more: this layer knows nothing of sandboxes, the
// command shell adds them (docs/architecture.md, "Layers").
let installedSources: ProfileSources = {
  profile: (name) => getProfile(name),
  sandbox: () => undefined,
}

/** Where every later resolveConnectionSpec() without sources of its own looks profiles up. */
export function installProfileSources(sources: ProfileSources): void {
  installedSources = sources
}

/** An environment variable that is set to something: an empty one counts as unset. */
function set(value: string | undefined): string | undefined {
  return value === '' ? undefined : value
}

/**
 * Resolve where and how to connect. Precedence: flag > environment > profile > default.
 * Where: the URL argument or an explicit --profile (--source/--target NAME), then KVTOP_URL, then
 * the KVTOP_PROFILE profile, then the running default sandbox, then redis://127.0.0.1:6379.
 * The URL's own password counts as a flag; then KVTOP_PASSWORD, REDISCLI_AUTH, the profile.
 */
export function resolveConnectionSpec(
  input: ConnectionInput,
  env: NodeJS.ProcessEnv = process.env,
  sources: ProfileSources = installedSources,
): ConnectionSpec {
  const profileName = input.profile || set(env.KVTOP_PROFILE)
  const chosen = chooseUrl(input, env, sources, profileName ? namedProfile(profileName, sources) : {})
  const { profile, url, urlFromProfile } = chosen
  // redis-cli's reading (`redis://SECRET@host` is a password) is for URLs typed on the command line
  // or in KVTOP_URL; profiles and sandboxes hold the password in a field of their own, and their
  // `name@host` names the user.
  const endpoint = parseEndpointUrl(url, { bareUserinfo: urlFromProfile ? 'user' : 'password' })
  const password = endpoint.password ?? set(env.KVTOP_PASSWORD) ?? set(env.REDISCLI_AUTH) ?? profile.password
  const username = input.user ?? endpoint.username ?? set(env.KVTOP_USER) ?? profile.user
  registerSecret(password)
  const timeoutMs = Math.round(timeoutSeconds(input, env, profile) * 1000)
  const tlsCa = input.tlsCa ?? set(env.KVTOP_TLS_CA) ?? profile.tlsCa
  refuseTlsOptionsWithoutTls(input, endpoint.tls, tlsCa)
  return {
    endpoint: {
      ...endpoint,
      ...(username ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      // IAM: the token is the password and the IAM user the username, whatever the URL or env say.
      ...(input.iam ? { username: input.iam.username, password: input.iam.current() } : {}),
    },
    ...(tlsCa ? { tlsCaFile: tlsCa } : {}),
    insecure: input.insecure ?? profile.insecure ?? false,
    timeoutMs,
    natMap: parseNatMap(input.natMap ?? [], profile.natMap ?? {}),
    ...(input.iam ? { iam: input.iam } : {}),
  }
}

/** A saved profile, or `sandbox:NAME` for a running sandbox. */
function namedProfile(name: string, sources: ProfileSources): Profile {
  const sandboxName = /^sandbox:(.+)$/.exec(name)?.[1]
  if (!sandboxName) return sources.profile(name)
  const p = sources.sandbox(sandboxName)
  if (!p)
    throw new UsageError(`no running sandbox named '${sandboxName}'`, {
      hint: 'List them with: kvtop sandbox status',
    })
  return p
}

/** Where to connect; the running default sandbox stands in for the profile when nothing names one. */
function chooseUrl(
  input: ConnectionInput,
  env: NodeJS.ProcessEnv,
  sources: ProfileSources,
  profile: Profile,
): { profile: Profile; url: string; urlFromProfile: boolean } {
  // A profile named on the command line is as explicit as a URL: it beats KVTOP_URL.
  if (input.url) return { profile, url: input.url, urlFromProfile: false }
  if (input.profile && profile.url) return { profile, url: profile.url, urlFromProfile: true }
  if (env.KVTOP_URL) return { profile, url: env.KVTOP_URL, urlFromProfile: false }
  if (profile.url) return { profile, url: profile.url, urlFromProfile: true }
  if (!input.profile && !set(env.KVTOP_PROFILE)) {
    const sandbox = sources.sandbox('default')
    if (sandbox?.url) return { profile: sandbox, url: sandbox.url, urlFromProfile: true }
  }
  return { profile, url: 'redis://127.0.0.1:6379', urlFromProfile: false }
}

function timeoutSeconds(input: ConnectionInput, env: NodeJS.ProcessEnv, profile: Profile): number {
  const seconds =
    input.timeout ??
    (env.KVTOP_TIMEOUT ? Number(env.KVTOP_TIMEOUT) : undefined) ??
    profile.timeout ??
    DEFAULT_TIMEOUT_SECONDS
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`invalid timeout '${seconds}': expected a positive number of seconds`)
  return seconds
}

function refuseTlsOptionsWithoutTls(input: ConnectionInput, tls: boolean, tlsCa: string | undefined): void {
  if ((tlsCa || input.insecure) && !tls) {
    throw new UsageError('--tls-ca and --insecure apply to TLS connections only', {
      hint: 'Use a rediss:// URL for TLS.',
    })
  }
  if (input.iam && !tls) {
    throw new UsageError(
      'IAM authentication requires TLS: the token must not cross the network in clear text',
      {
        hint: 'Use a rediss:// URL (ElastiCache and MemoryDB accept IAM only with in-transit encryption enabled).',
      },
    )
  }
}
