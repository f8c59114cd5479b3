import * as Flags from '@oclif/core/flags'
import { UsageError } from './errors.js'
import { type AwsConnectionFlagValues, type AwsConnectionResult } from './aws/target.js'
import { awsAccountFlags, connectionInputWithAws, profileNamesAwsTarget, usesAws } from './aws/flags.js'
import { timeoutFlag, type ConnectionFlagValues } from './connect/flags.js'
import { profileSourcesWithSandboxes } from './sandbox/profile-sources.js'
import { describeEndpoint } from './connect/endpoint.js'
import { resolveConnectionSpec, type ConnectionInput } from './connect/options.js'

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i

/**
 * Commands that join two deployments (verify, migrate): each side is a URL or a profile name
 * (`sandbox:NAME` for a sandbox); TLS and timeout settings apply to both unless a side sets its own.
 */
export const pairFlags = {
  source: Flags.string({
    description: 'Source: redis[s]://[user[:password]@]host[:port][/db], or a profile name (sandbox:NAME)',
    helpGroup: 'SOURCE',
  }),
  target: Flags.string({
    description: 'Target: a URL or a profile name, as --source',
    helpGroup: 'TARGET',
  }),
  'tls-ca': Flags.string({
    description: 'CA certificate file (PEM) for rediss:// endpoints (both sides)',
    helpGroup: 'CONNECTION',
  }),
  insecure: Flags.boolean({
    description: 'Skip TLS certificate verification (explicit only; not for production)',
    helpGroup: 'CONNECTION',
  }),
  timeout: timeoutFlag(),
}

type Side = 'source' | 'target'

/** What one-endpoint commands take, for one side of a pair: `--source-user`, `--target-iam` ... */
function sideFlags<S extends Side>(side: S) {
  const group = side.toUpperCase()
  const other = (k: string) => [`${side}-${k}`]
  return {
    profile: Flags.string({
      description: `Named profile for the ${side} (instead of a profile name in --${side})`,
      helpGroup: group,
    }),
    user: Flags.string({ description: `ACL user name of the ${side} (overrides its URL)`, helpGroup: group }),
    'tls-ca': Flags.string({
      description: `CA certificate file (PEM) for the ${side} (overrides --tls-ca)`,
      helpGroup: group,
    }),
    'nat-map': Flags.string({
      description: `For the ${side}: map an announced address to a reachable one, host:port=host:port (repeatable)`,
      multiple: true,
      helpGroup: group,
    }),
    iam: Flags.boolean({
      description: `Authenticate to the ${side} with IAM auth tokens (TLS only; --${side}-user names the IAM-enabled user)`,
      helpGroup: group,
    }),
    elasticache: Flags.string({
      description: `The ${side} is this ElastiCache replication group (endpoint looked up at AWS)`,
      helpGroup: group,
      exclusive: [...other('serverless'), ...other('memorydb')],
    }),
    serverless: Flags.string({
      description: `The ${side} is this ElastiCache serverless cache`,
      helpGroup: group,
      exclusive: [...other('elasticache'), ...other('memorydb')],
    }),
    memorydb: Flags.string({
      description: `The ${side} is this MemoryDB cluster`,
      helpGroup: group,
      exclusive: [...other('elasticache'), ...other('serverless')],
    }),
  }
}

type Prefixed<P extends string, T> = { [K in keyof T & string as `${P}-${K}`]: T[K] }

function prefixed<P extends string, T extends object>(prefix: P, flags: T): Prefixed<P, T> {
  return Object.fromEntries(Object.entries(flags).map(([k, v]) => [`${prefix}-${k}`, v])) as Prefixed<P, T>
}

/** pairFlags plus, per side, what a one-endpoint command takes; --region/--aws-profile for both. */
export const pairConnectionFlags = {
  ...pairFlags,
  ...prefixed('source', sideFlags('source')),
  ...prefixed('target', sideFlags('target')),
  ...awsAccountFlags,
}

interface SideFlagValues {
  profile?: string
  user?: string
  'tls-ca'?: string
  'nat-map'?: string[]
  iam?: boolean
  elasticache?: string
  serverless?: string
  memorydb?: string
}

interface PairFlagValues {
  source?: string
  target?: string
  'tls-ca'?: string
  insecure?: boolean
  timeout?: number
}

export type PairConnectionFlagValues = PairFlagValues & AwsConnectionFlagValues & Record<string, unknown>

function sideValues(side: Side, flags: PairConnectionFlagValues): SideFlagValues {
  const get = (k: keyof SideFlagValues) => flags[`${side}-${k}`]
  return {
    profile: get('profile') as string | undefined,
    user: get('user') as string | undefined,
    'tls-ca': get('tls-ca') as string | undefined,
    'nat-map': get('nat-map') as string[] | undefined,
    iam: (get('iam') as boolean | undefined) || undefined,
    elasticache: get('elasticache') as string | undefined,
    serverless: get('serverless') as string | undefined,
    memorydb: get('memorydb') as string | undefined,
  }
}

/**
 * One side as a one-endpoint command would see it: the URL (or the profile named in --source /
 * --target, or --source-profile) and that side's connection and AWS flags.
 */
export function sideFlagValues(
  side: Side,
  flags: PairConnectionFlagValues,
): { url?: string; values: ConnectionFlagValues & AwsConnectionFlagValues; aws: boolean } {
  const own = sideValues(side, flags)
  const given = flags[side]
  const isUrl = given !== undefined && URL_SCHEME.test(given)
  if (given !== undefined && !isUrl && own.profile !== undefined) {
    throw new UsageError(
      `--${side} '${given}' is a profile name and --${side}-profile is given too: give one`,
    )
  }
  const namedAtAws = own.elasticache ?? own.serverless ?? own.memorydb
  if (given === undefined && own.profile === undefined && namedAtAws === undefined) {
    throw new UsageError(`no ${side} given`, {
      hint: `Give --${side} URL, --${side} PROFILE (or --${side}-profile NAME), or --${side}-elasticache / --${side}-serverless / --${side}-memorydb NAME.`,
    })
  }
  const profile = isUrl ? undefined : (given ?? own.profile)
  const values: ConnectionFlagValues & AwsConnectionFlagValues = {
    user: own.user,
    'tls-ca': own['tls-ca'] ?? flags['tls-ca'],
    insecure: flags.insecure,
    timeout: flags.timeout,
    profile,
    'nat-map': own['nat-map'],
    iam: own.iam,
    elasticache: own.elasticache,
    serverless: own.serverless,
    memorydb: own.memorydb,
  }
  const url = isUrl ? given : undefined
  // --region / --aws-profile serve both sides: only a side that goes through AWS takes them.
  const aws = usesAws(values) || profileNamesAwsTarget(url, profile)
  if (aws) {
    values.region = flags.region
    values['aws-profile'] = flags['aws-profile']
  }
  return { url, values, aws }
}

/**
 * Both sides resolved the way one-endpoint commands resolve theirs (URL, profile, sandbox, AWS name,
 * IAM tokens). Close both results when done.
 */
export async function resolvePair(
  flags: PairConnectionFlagValues,
  hooks: { onNotice?: (message: string) => void } = {},
): Promise<{ source: AwsConnectionResult; target: AwsConnectionResult }> {
  const source = sideFlagValues('source', flags)
  const target = sideFlagValues('target', flags)
  if ((flags.region || flags['aws-profile']) && !source.aws && !target.aws) {
    throw new UsageError(
      '--region and --aws-profile apply when a side is named at AWS (--source-elasticache ...) or uses IAM',
    )
  }
  const resolvedSource = await connectionInputWithAws(source.url, source.values, hooks)
  try {
    const resolvedTarget = await connectionInputWithAws(target.url, target.values, hooks)
    return { source: resolvedSource, target: resolvedTarget }
  } catch (err) {
    resolvedSource.close()
    throw err
  }
}

/** One side (migrate aws --source / --target): a URL, or else a profile name. */
export function sideInput(value: string, flags: Omit<PairFlagValues, 'source' | 'target'>): ConnectionInput {
  const isUrl = URL_SCHEME.test(value)
  return {
    ...(isUrl ? { url: value } : { profile: value }),
    tlsCa: flags['tls-ca'],
    insecure: flags.insecure || undefined,
    timeout: flags.timeout,
  }
}

export function pairInputs(flags: PairFlagValues): { source: ConnectionInput; target: ConnectionInput } {
  if (flags.source === undefined || flags.target === undefined)
    throw new UsageError('both --source and --target are needed')
  return { source: sideInput(flags.source, flags), target: sideInput(flags.target, flags) }
}

/**
 * Where one side connects, safe to print (no password, no token): the URL as resolved (from the
 * flag, a profile, a sandbox or AWS), what AWS named, and how it authenticates.
 */
export function describeSide(resolved: AwsConnectionResult): string {
  const spec = resolveConnectionSpec(resolved.input, process.env, profileSourcesWithSandboxes)
  const notes = [
    ...(resolved.input.profile ? [`profile ${resolved.input.profile}`] : []),
    ...(resolved.aws
      ? [`${resolved.aws.service === 'memorydb' ? 'MemoryDB' : 'ElastiCache'} ${resolved.aws.name}`]
      : []),
    ...(resolved.input.iam ? ['IAM auth'] : spec.endpoint.password !== undefined ? ['password'] : []),
  ]
  return describeEndpoint(spec.endpoint) + (notes.length ? ` (${notes.join(', ')})` : '')
}
