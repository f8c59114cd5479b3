/**
 * AWS flags shared by commands. This module stays light (no AWS SDK import) because command
 * modules load it at startup; the SDK is loaded only when a command actually talks to AWS.
 */
import * as Flags from '@oclif/core/flags'
import { UsageError } from '../errors.js'
import { connectionInput } from '../connect/flags-input.js'
import { getProfile } from '../connect/config.js'
import type { ConnectionFlagValues } from '../connect/flags.js'
import type { AwsConnectionFlagValues, AwsConnectionResult } from './target.js'

/** Where an AWS resource is and whose credentials reach it. */
export const awsAccountFlags = {
  region: Flags.string({
    description: "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the AWS profile's region)",
    helpGroup: 'AWS',
  }),
  'aws-profile': Flags.string({
    description:
      'Profile from ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, then the default chain)',
    helpGroup: 'AWS',
  }),
}

/** Name one ElastiCache / MemoryDB deployment. */
export const awsTargetFlags = {
  elasticache: Flags.string({
    description: 'ElastiCache replication group id (a member cache cluster id works too)',
    helpGroup: 'AWS',
    exclusive: ['serverless', 'memorydb'],
  }),
  serverless: Flags.string({
    description: 'ElastiCache serverless cache name',
    helpGroup: 'AWS',
    exclusive: ['elasticache', 'memorydb'],
  }),
  memorydb: Flags.string({
    description: 'MemoryDB cluster name',
    helpGroup: 'AWS',
    exclusive: ['elasticache', 'serverless'],
  }),
  ...awsAccountFlags,
}

/**
 * Name one node-based deployment: for the commands that work on shards, replicas and snapshots,
 * which serverless caches do not have (so --serverless is not offered there).
 */
export const awsNodeTargetFlags = {
  elasticache: Flags.string({
    description: 'ElastiCache replication group id (a member cache cluster id works too)',
    helpGroup: 'AWS',
    exclusive: ['memorydb'],
  }),
  memorydb: Flags.string({
    description: 'MemoryDB cluster name',
    helpGroup: 'AWS',
    exclusive: ['elasticache'],
  }),
  ...awsAccountFlags,
}

/** For commands that take a URL: name the deployment at AWS instead, and/or authenticate with IAM. */
export const awsConnectionFlags = {
  ...awsTargetFlags,
  iam: Flags.boolean({
    description:
      'Authenticate with IAM auth tokens (TLS only; --user names the IAM-enabled user, the resource comes from --elasticache/--serverless/--memorydb or the endpoint name)',
    helpGroup: 'AWS',
  }),
}

export function usesAws(flags: AwsConnectionFlagValues): boolean {
  return Boolean(flags.elasticache || flags.serverless || flags.memorydb || flags.iam)
}

/** A kvtop profile (--profile) with `elasticache`, `serverless` or `memorydb` and no `url` names an AWS deployment. */
export function profileNamesAwsTarget(url: string | undefined, profile: string | undefined): boolean {
  if (url || !profile || profile.startsWith('sandbox:')) return false
  const p = getProfile(profile)
  return (!p.url && Boolean(p.elasticache || p.serverless || p.memorydb)) || Boolean(p.iam)
}

/**
 * The AWS settings a kvtop profile (--profile) holds, under the flags: `iam`, `awsProfile`,
 * `region`, and the deployment's name when AWS gives the endpoint (no URL) or IAM needs the resource.
 */
export function withProfileAwsSettings<T extends ConnectionFlagValues & AwsConnectionFlagValues>(
  url: string | undefined,
  flags: T,
): T {
  if (!flags.profile || flags.profile.startsWith('sandbox:')) return flags
  const p = getProfile(flags.profile)
  const iam = flags.iam || p.iam || undefined
  const merged: T = {
    ...flags,
    ...(iam ? { iam } : {}),
    ...(flags.user === undefined && iam && p.user ? { user: p.user } : {}),
  }
  const named = Boolean(flags.elasticache || flags.serverless || flags.memorydb)
  const profileNames = Boolean(p.elasticache || p.serverless || p.memorydb)
  if (!named && profileNames && ((!url && !p.url) || iam)) {
    if (p.memorydb) merged.memorydb = p.memorydb
    else if (p.serverless) merged.serverless = p.serverless
    else merged.elasticache = p.elasticache
  }
  if (usesAws(merged)) {
    merged.region ??= p.region
    merged['aws-profile'] ??= p.awsProfile
  }
  return merged
}

/**
 * connectionInput() for commands that also take the AWS flags: a URL, or --elasticache /
 * --serverless / --memorydb in its place (looked up at AWS), and --iam. Without AWS flags this is
 * connectionInput() and the AWS SDK is not loaded.
 */
export async function connectionInputWithAws(
  url: string | undefined,
  given: ConnectionFlagValues & AwsConnectionFlagValues & { cloudwatch?: boolean },
  hooks: { onNotice?: (message: string) => void } = {},
): Promise<AwsConnectionResult> {
  const flags = withProfileAwsSettings(url, given)
  if (!usesAws(flags)) {
    // --cloudwatch reads CloudWatch with them (the deployment named by the endpoint).
    if ((flags.region || flags['aws-profile']) && !flags.cloudwatch) {
      throw new UsageError(
        '--region and --aws-profile apply with --elasticache, --serverless, --memorydb, --iam or --cloudwatch',
      )
    }
    return { input: connectionInput(url, flags), close: () => {} }
  }
  const { resolveAwsConnection } = await import('./connect.js')
  return resolveAwsConnection(url, flags, hooks)
}

/** Monitoring commands: per-node CloudWatch figures beside the servers' own. */
export const cloudWatchFlags = {
  cloudwatch: Flags.boolean({
    description:
      'Add per-node CloudWatch metrics (AWS/ElastiCache or AWS/MemoryDB, refreshed every 60 s); the deployment comes from --elasticache/--serverless/--memorydb or the endpoint name',
    helpGroup: 'AWS',
  }),
}
