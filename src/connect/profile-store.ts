import { mkdirSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { AtomicFile } from '../data/atomic-file.js'
import { UsageError } from '../errors.js'
import { parseJsonText } from '../json-text.js'
import { validateResourceName } from './resource-name.js'
import { checkProfile, configPath, loadConfig, type Profile } from './config.js'
import { describeEndpoint, maskUrl, parseEndpointUrl } from './endpoint.js'
import { parseNatMap } from './nat-map.js'

const MASK = '***'
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * The config file as it is, unknown fields included, so that a rewrite keeps what another kvtop
 * version (or the person who edited it) put there. loadConfig() has checked its shape.
 */
function readDocument(env: NodeJS.ProcessEnv): {
  doc: Record<string, unknown>
  profiles: Record<string, unknown>
} {
  loadConfig(env)
  let doc: Record<string, unknown> = {}
  try {
    doc = parseJsonText(readFileSync(configPath(env), 'utf8')) as Record<string, unknown>
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const profiles = (doc.profiles ?? {}) as Record<string, unknown>
  return { doc: { ...doc, profiles }, profiles }
}

/** Written under a temporary name and renamed into place (mode 0600: profiles hold passwords). */
async function writeDocument(doc: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<void> {
  const path = configPath(env)
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const file = AtomicFile.open(path, { overwrite: true })
  try {
    file.writeSync(Buffer.from(JSON.stringify(doc, null, 2) + '\n'))
  } catch (err) {
    file.abort()
    throw err
  }
  await file.commit()
}

function unknownProfile(name: string, known: string[], env: NodeJS.ProcessEnv): UsageError {
  return new UsageError(`no profile named '${name}' in ${configPath(env)}`, {
    hint: known.length ? `Known profiles: ${known.join(', ')}.` : 'The file defines no profiles yet.',
  })
}

export async function addProfile(
  name: string,
  profile: Profile,
  options: { replace?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const env = options.env ?? process.env
  if (!PROFILE_NAME.test(name)) {
    throw new UsageError(`invalid profile name '${name}': expected letters, digits, '.', '_' and '-'`, {
      hint: name.startsWith('sandbox:') ? 'sandbox:NAME profiles come from running sandboxes.' : undefined,
    })
  }
  const { doc, profiles } = readDocument(env)
  if (Object.hasOwn(profiles, name) && !options.replace) {
    throw new UsageError(`profile '${name}' already exists in ${configPath(env)}`, {
      code: 'exists',
      hint: `Pass --replace to replace it, or remove it first: kvtop config remove ${name}`,
    })
  }
  profiles[name] = checkProfile(name, profile, configPath(env))
  await writeDocument(doc, env)
}

export async function removeProfile(name: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { doc, profiles } = readDocument(env)
  if (!Object.hasOwn(profiles, name)) throw unknownProfile(name, Object.keys(profiles), env)
  delete profiles[name]
  await writeDocument(doc, env)
}

/** A profile safe to print: the password (in its field or in the URL) masked. */
export function maskProfile(profile: Profile): Profile {
  return {
    ...profile,
    ...(profile.url !== undefined ? { url: maskUrl(profile.url, 'user') } : {}),
    ...(profile.password !== undefined ? { password: MASK } : {}),
  }
}

/** The connection flags `config add` takes, as parsed. */
interface ProfileFlagValues {
  url?: string
  user?: string
  password?: string
  'tls-ca'?: string
  insecure?: boolean
  timeout?: number
  'nat-map'?: string[]
  region?: string
  'aws-profile'?: string
  elasticache?: string
  serverless?: string
  memorydb?: string
  iam?: boolean
}

/**
 * A profile from `config add` flags, checked as a connection would check them. A password in the
 * URL (read as redis-cli reads a URL: `redis://SECRET@host` is a password) moves to the `password`
 * field, so that the stored URL names only the user.
 */
export function profileFromFlags(flags: ProfileFlagValues): Profile {
  const names = (['elasticache', 'serverless', 'memorydb'] as const).filter((k) => flags[k] !== undefined)
  if (names.length > 1)
    throw new UsageError(`--${names[0]} and --${names[1]} both name a deployment: give one`)
  if (!flags.url && !names.length)
    throw new UsageError('a profile needs --url URL, or --elasticache / --serverless / --memorydb NAME')
  const profile: Profile = {}
  let tls: boolean | undefined
  if (flags.url) {
    const endpoint = parseEndpointUrl(flags.url)
    tls = endpoint.tls
    profile.url = describeEndpoint(endpoint)
    if (endpoint.password !== undefined) profile.password = endpoint.password
  }
  if (flags.password !== undefined) profile.password = flags.password
  if (flags.user !== undefined) profile.user = flags.user
  if (tls === false && (flags['tls-ca'] || flags.insecure))
    throw new UsageError('--tls-ca and --insecure apply to TLS connections only', {
      hint: 'Use a rediss:// URL for TLS.',
    })
  if (tls === false && flags.iam) throw new UsageError('IAM authentication requires TLS: use a rediss:// URL')
  // Kept absolute: the profile is used from other directories.
  if (flags['tls-ca'] !== undefined) profile.tlsCa = resolve(flags['tls-ca'])
  if (flags.insecure) profile.insecure = true
  if (flags.timeout !== undefined) profile.timeout = flags.timeout
  if (flags['nat-map']?.length) {
    parseNatMap(flags['nat-map'])
    profile.natMap = Object.fromEntries(flags['nat-map'].map((e) => e.split('=') as [string, string]))
  }
  if (flags.region !== undefined) profile.region = flags.region
  if (flags['aws-profile'] !== undefined) profile.awsProfile = flags['aws-profile']
  for (const k of names) profile[k] = validateResourceName(k, flags[k]!)
  if (flags.iam) profile.iam = true
  return profile
}
