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
  let profile: Profile = {}
  if (profileName) {
    const sandboxName = /^sandbox:(.+)$/.exec(profileName)?.[1]
    if (sandboxName) {
      const p = sources.sandbox(sandboxName)
      if (!p)
        throw new UsageError(`no running sandbox named '${sandboxName}'`, {
          hint: 'List them with: kvtop sandbox status',
        })
      profile = p
    } else {
      profile = sources.profile(profileName)
    }
  }
  // A profile named on the command line is as explicit as a URL: it beats KVTOP_URL.
  let url: string | undefined
  let urlFromProfile = false
  if (input.url) url = input.url
  else if (input.profile && profile.url) [url, urlFromProfile] = [profile.url, true]
  else if (env.KVTOP_URL) url = env.KVTOP_URL
  else if (profile.url) [url, urlFromProfile] = [profile.url, true]
  if (!url && !profileName) {
    const sandbox = sources.sandbox('default')
    if (sandbox?.url) {
      profile = sandbox
      url = sandbox.url
      urlFromProfile = true
    }
  }
  if (!url) url = 'redis://127.0.0.1:6379'
  // redis-cli's reading (`redis://SECRET@host` is a password) is for URLs typed on the command line
  // or in KVTOP_URL; profiles and sandboxes hold the password in a field of their own, and their
  // `name@host` names the user.
  const endpoint = parseEndpointUrl(url, { bareUserinfo: urlFromProfile ? 'user' : 'password' })
  const password = endpoint.password ?? set(env.KVTOP_PASSWORD) ?? set(env.REDISCLI_AUTH) ?? profile.password
  const username = input.user ?? endpoint.username ?? set(env.KVTOP_USER) ?? profile.user
  registerSecret(password)
  const timeoutSeconds =
    input.timeout ??
    (env.KVTOP_TIMEOUT ? Number(env.KVTOP_TIMEOUT) : undefined) ??
    profile.timeout ??
    DEFAULT_TIMEOUT_SECONDS
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`invalid timeout '${timeoutSeconds}': expected a positive number of seconds`)
  }
  const tlsCa = input.tlsCa ?? set(env.KVTOP_TLS_CA) ?? profile.tlsCa
  const insecure = input.insecure ?? profile.insecure ?? false
  if ((tlsCa || input.insecure) && !endpoint.tls) {
    throw new UsageError('--tls-ca and --insecure apply to TLS connections only', {
      hint: 'Use a rediss:// URL for TLS.',
    })
  }
  if (input.iam && !endpoint.tls) {
    throw new UsageError(
      'IAM authentication requires TLS: the token must not cross the network in clear text',
      {
        hint: 'Use a rediss:// URL (ElastiCache and MemoryDB accept IAM only with in-transit encryption enabled).',
      },
    )
  }
  return {
    endpoint: {
      ...endpoint,
      ...(username ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      // IAM: the token is the password and the IAM user the username, whatever the URL or env say.
      ...(input.iam ? { username: input.iam.username, password: input.iam.current() } : {}),
    },
    ...(tlsCa ? { tlsCaFile: tlsCa } : {}),
    insecure,
    timeoutMs: Math.round(timeoutSeconds * 1000),
    natMap: parseNatMap(input.natMap ?? [], profile.natMap ?? {}),
    ...(input.iam ? { iam: input.iam } : {}),
  }
}
