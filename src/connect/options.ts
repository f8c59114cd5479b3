import { UsageError } from '../errors.js'
import { registerSecret } from '../redact.js'
import type { ConnectionSpec } from './client.js'
import { getProfile, type Profile } from './config.js'
import { parseEndpointUrl } from './endpoint.js'
import type { TokenAuth } from './iam.js'
import { parseNatMap } from './nat-map.js'

export const DEFAULT_TIMEOUT_SECONDS = 5

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

const defaultSources: ProfileSources = {
  profile: (name) => getProfile(name),
  sandbox: () => undefined,
}

/**
 * Resolve where and how to connect. Precedence: flag > environment > profile > default.
 * The URL's own password counts as a flag; then KVTOP_PASSWORD, REDISCLI_AUTH, the profile.
 */
export function resolveConnectionSpec(
  input: ConnectionInput,
  env: NodeJS.ProcessEnv = process.env,
  sources: ProfileSources = defaultSources,
): ConnectionSpec {
  const profileName = input.profile ?? env.KVTOP_PROFILE
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
  let url = input.url ?? env.KVTOP_URL ?? profile.url
  if (!url && !profileName) {
    const sandbox = sources.sandbox('default')
    if (sandbox?.url) {
      profile = sandbox
      url = sandbox.url
    }
  }
  if (!url) url = 'redis://127.0.0.1:6379'
  const endpoint = parseEndpointUrl(url)
  const password = endpoint.password ?? env.KVTOP_PASSWORD ?? env.REDISCLI_AUTH ?? profile.password
  const username = input.user ?? endpoint.username ?? env.KVTOP_USER ?? profile.user
  registerSecret(password)
  const timeoutSeconds =
    input.timeout ??
    (env.KVTOP_TIMEOUT ? Number(env.KVTOP_TIMEOUT) : undefined) ??
    profile.timeout ??
    DEFAULT_TIMEOUT_SECONDS
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`invalid timeout '${timeoutSeconds}': expected a positive number of seconds`)
  }
  const tlsCa = input.tlsCa ?? env.KVTOP_TLS_CA ?? profile.tlsCa
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
