import { UsageError } from '../errors.js'
import { connectionInput } from '../connect/flags-input.js'
import type { ConnectionFlagValues } from '../connect/flags.js'
import { getProfile } from '../connect/config.js'
import { parseEndpointUrl } from '../connect/endpoint.js'
import { AwsClients } from './clients.js'
import { discoverDeployment } from './discovery.js'
import { isAccessDenied } from './errors.js'
import { awsTargetFromFlags, type AwsConnectionFlagValues, type AwsConnectionResult } from './target.js'
import { IamTokenProvider, inferResourceFromHost } from './iam-token.js'
import { formatRetryNotice } from './retry.js'
import { describeTarget, serviceOf, type AwsDeployment, type AwsTarget } from './types.js'

/**
 * Turn a URL and/or the AWS flags into a ConnectionInput:
 * - --elasticache / --serverless / --memorydb without a URL: the endpoint AWS reports (rediss://
 *   when in-transit encryption is on);
 * - with a URL as well: the URL is where to connect, the flag names the resource (for --iam);
 * - --iam: a token provider (signed with the same credentials chain) as the password source.
 * A kvtop profile (--profile) with `elasticache` / `memorydb` and `region` names a target too.
 */
export async function resolveAwsConnection(
  url: string | undefined,
  flags: ConnectionFlagValues & AwsConnectionFlagValues,
  hooks: Hooks = {},
): Promise<AwsConnectionResult> {
  // The profile's AWS settings (target, iam, region, awsProfile) are merged in by the caller.
  const target = awsTargetFromFlags(flags)
  const clients = new AwsClients({
    region: flags.region,
    profile: flags['aws-profile'],
    onRetry: hooks.onNotice ? (n) => hooks.onNotice!(formatRetryNotice(n)) : undefined,
  })
  // A kvtop profile still supplies user, password and TLS settings; the URL comes from AWS.
  const base = connectionInput(url, flags)
  const aws = target ? await describeAtAws(clients, target, url, hooks) : undefined
  if (target && !url && aws) base.url = aws.url
  let provider: IamTokenProvider | undefined
  if (flags.iam) {
    provider = await iamTokenProvider(clients, flags, { target, aws, url, where: base.url ?? url }, hooks)
    base.iam = provider
  }
  return {
    input: base,
    ...(aws ? { aws } : {}),
    close: () => {
      provider?.close()
      clients.destroy()
    },
  }
}

type Hooks = { onNotice?: (message: string) => void }

/**
 * AWS's description of the target. With a URL it is a bonus (CloudWatch identities, settings) that
 * needs Describe permissions an IAM data-plane identity may well not have; without one it is where
 * to connect, so it must have an endpoint.
 */
async function describeAtAws(
  clients: AwsClients,
  target: AwsTarget,
  url: string | undefined,
  hooks: Hooks,
): Promise<AwsDeployment | undefined> {
  if (url) {
    try {
      return await discoverDeployment(clients, target)
    } catch (err) {
      if (!isAccessDenied(err)) throw err
      hooks.onNotice?.(`not described at AWS (${(err as Error).message}); connecting to ${url} as given`)
      return undefined
    }
  }
  const aws = await discoverDeployment(clients, target)
  if (!aws.url) {
    throw new UsageError(
      `${describeTarget(target)} has no endpoint yet (status ${aws.status ?? 'unknown'})`,
      {
        hint: 'Wait until it is available, or give its URL.',
      },
    )
  }
  if (aws.status && aws.status !== 'available') {
    hooks.onNotice?.(
      `${describeTarget(target)} is '${aws.status}', not 'available': the connection may fail.`,
    )
  }
  return aws
}

/** --iam: the IAM user (from --user or user@ in the URL) over TLS, and a started token provider. */
async function iamTokenProvider(
  clients: AwsClients,
  flags: ConnectionFlagValues & AwsConnectionFlagValues,
  at: { target?: AwsTarget; aws?: AwsDeployment; url?: string; where?: string },
  hooks: Hooks,
): Promise<IamTokenProvider> {
  const { target, aws, url } = at
  const profileUrl =
    flags.profile && !flags.profile.startsWith('sandbox:') ? getProfile(flags.profile).url : undefined
  const where = at.where ?? profileUrl
  // With --iam there is no password to give: user@ in the URL names the IAM user.
  const endpoint = where ? parseEndpointUrl(where, { bareUserinfo: 'user' }) : undefined
  const resource = iamResource(target, aws, endpoint?.host)
  const user = flags.user ?? endpoint?.username
  if (!user) {
    throw new UsageError('--iam needs the IAM-enabled user: give --user NAME (or user@ in the URL)', {
      hint: 'For ElastiCache the user id and the user name must be the same; for MemoryDB it is the user name.',
    })
  }
  if (endpoint && !endpoint.tls) {
    throw new UsageError(
      aws && !url
        ? `${describeTarget(target!)} has in-transit encryption disabled: IAM authentication requires TLS`
        : 'IAM authentication requires TLS: use a rediss:// URL',
      { hint: 'ElastiCache and MemoryDB accept IAM authentication tokens only over TLS.' },
    )
  }
  if (resource.region) clients.options.region ??= resource.region
  const signingRegion = aws?.region ?? (await clients.region())
  return new IamTokenProvider({
    service: resource.service,
    resourceName: resource.name,
    serverless: resource.serverless,
    user,
    region: signingRegion,
    credentials: () => clients.credentials(),
    onRefreshError: (err) =>
      hooks.onNotice?.(`could not refresh the IAM authentication token: ${(err as Error).message}`),
  }).start()
}

function iamResource(
  target: AwsTarget | undefined,
  aws: AwsDeployment | undefined,
  host: string | undefined,
): { service: 'elasticache' | 'memorydb'; name: string; serverless: boolean; region?: string } {
  if (aws) return { service: aws.service, name: aws.name, serverless: aws.kind === 'serverless-cache' }
  if (target)
    return { service: serviceOf(target.kind), name: target.name, serverless: target.kind === 'serverless' }
  const inferred = host ? inferResourceFromHost(host) : undefined
  if (inferred) return inferred
  throw new UsageError("--iam needs the resource the token is for, and the endpoint's name does not say", {
    hint: 'Add --elasticache REPLICATION_GROUP, --serverless CACHE or --memorydb CLUSTER alongside the URL.',
  })
}
