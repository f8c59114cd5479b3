/**
 * Which AWS deployment the flags name (--elasticache / --serverless / --memorydb) and what
 * resolving it gives back. Kept apart from the flag definitions and free of the AWS SDK, so that
 * both the flags and the SDK-loading resolver (./connect.ts) can use it without importing each
 * other.
 */
import type { ConnectionInput } from '../connect/options.js'
import { validateResourceName } from '../connect/resource-name.js'
import { UsageError } from '../errors.js'
import type { AwsDeployment, AwsTarget } from './types.js'

const TARGETS = ['elasticache', 'serverless', 'memorydb'] as const

export interface AwsAccountFlagValues {
  region?: string
  'aws-profile'?: string
}

interface AwsTargetFlagValues extends AwsAccountFlagValues {
  elasticache?: string
  serverless?: string
  memorydb?: string
}

export interface AwsConnectionFlagValues extends AwsTargetFlagValues {
  iam?: boolean
}

/** The deployment named by --elasticache / --serverless / --memorydb, if any. */
export function awsTargetFromFlags(flags: AwsTargetFlagValues): AwsTarget | undefined {
  const given = TARGETS.filter((k) => flags[k] !== undefined)
  if (given.length > 1) {
    throw new UsageError(`--${given[0]} and --${given[1]} both name a deployment: give one`)
  }
  if (!given.length) return undefined
  const kind = given[0]
  return { kind, name: validateResourceName(kind, flags[kind]!) }
}

export interface AwsConnectionResult {
  input: ConnectionInput
  /** What AWS reported, when the deployment was named by an AWS flag and looked up. */
  aws?: AwsDeployment
  /** Stop background token refresh (IAM); safe to call when there is none. */
  close(): void
}
