import { AwsError, KvtopError, errorMessage } from '../errors.js'

/** The AWS call an error came from, named in its message. */
export interface CallContext {
  service: 'ElastiCache' | 'MemoryDB' | 'CloudWatch' | 'S3'
  operation: string
  /** What the call is about, for messages: "replication group 'orders'". */
  resource?: string
  region?: string
}

interface SdkError {
  name?: string
  message?: string
  code?: string
  Code?: string
  $fault?: 'client' | 'server'
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number }
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AccessDeniedFault',
  'UnauthorizedOperation',
  'AuthorizationError',
  'Forbidden',
])
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
  'InvalidToken',
  'InvalidCredentialsException',
])
const NOT_FOUND = new Set([
  'ReplicationGroupNotFoundFault',
  'CacheClusterNotFoundFault',
  'ServerlessCacheNotFoundFault',
  'ServerlessCacheSnapshotNotFoundFault',
  'SnapshotNotFoundFault',
  'ClusterNotFoundFault',
  'NodeGroupNotFoundFault',
  'ShardNotFoundFault',
  'NoSuchBucket',
  'NoSuchKey',
  'NotFound',
  'ResourceNotFound',
  'ResourceNotFoundException',
])
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'APICallRateForCustomerExceededFault',
  'LimitExceededException',
])
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

const IAM_PREFIX: Record<CallContext['service'], string> = {
  ElastiCache: 'elasticache',
  MemoryDB: 'memorydb',
  CloudWatch: 'cloudwatch',
  S3: 's3',
}

const ENDPOINT_ENV: Record<CallContext['service'], string> = {
  ElastiCache: 'AWS_ENDPOINT_URL_ELASTICACHE',
  MemoryDB: 'AWS_ENDPOINT_URL_MEMORYDB',
  CloudWatch: 'AWS_ENDPOINT_URL_CLOUDWATCH',
  S3: 'AWS_ENDPOINT_URL_S3',
}

function subject(ctx: CallContext): string {
  return ctx.resource ? `${ctx.resource}` : `${ctx.service} ${ctx.operation}`
}

function where(ctx: CallContext): string {
  return ctx.region ? ` in ${ctx.region}` : ''
}

function requestId(e: SdkError): string {
  return e.$metadata?.requestId ? ` (request id ${e.$metadata.requestId})` : ''
}

export function isNotFound(err: unknown): boolean {
  const e = err as SdkError
  if (err instanceof KvtopError) return err.code === 'aws-not-found'
  return NOT_FOUND.has(e?.name ?? '') || (e?.$metadata?.httpStatusCode === 404 && e?.$fault === 'client')
}

/** What `call` resolves to, or undefined when AWS says the thing it asked about does not exist. */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}

export function isAccessDenied(err: unknown): boolean {
  const e = err as SdkError
  if (err instanceof KvtopError) return err.code === 'aws-access-denied'
  return ACCESS_DENIED.has(e?.name ?? '') || e?.$metadata?.httpStatusCode === 403
}

/**
 * Map anything an AWS call throws to an AwsError (exit 4) whose message names the resource and
 * carries AWS's own message, and whose hint says what to check. kvtop's own errors pass through.
 */
export function toAwsError(err: unknown, ctx: CallContext): KvtopError {
  if (err instanceof KvtopError) return err
  const e = (err ?? {}) as SdkError
  const name = e.name ?? ''
  const message = errorMessage(err)
  const failure: AwsFailure = {
    err,
    e,
    name,
    message,
    awsMessage: message && message !== name && message !== 'UnknownError' ? `: ${message}` : '',
  }
  return localSetupError(failure, ctx) ?? serviceError(failure, ctx)
}

/** What toAwsError knows of one failure: the thrown value, read as an SDK error, and its texts. */
interface AwsFailure {
  err: unknown
  e: SdkError
  name: string
  message: string
  /** `: <AWS's message>` to append, or '' when it says nothing more than the name. */
  awsMessage: string
}

/** This machine's AWS setup: no credentials, no or a wrong region, a profile that does not exist. */
function localSetupError(
  { err, name, message, awsMessage }: AwsFailure,
  ctx: CallContext,
): AwsError | undefined {
  if (
    name === 'CredentialsProviderError' ||
    /Could not load credentials|credentials? (is|are) missing/i.test(message)
  ) {
    const forWhat =
      ctx.operation === 'load credentials'
        ? ''
        : ` for ${ctx.service} ${ctx.operation}${ctx.resource ? ` on ${ctx.resource}` : ''}`
    return new AwsError(`no AWS credentials found${forWhat}`, {
      code: 'aws-credentials',
      hint:
        'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name a profile with --aws-profile (or AWS_PROFILE), ' +
        'or log in with `aws sso login`; on EC2, ECS or EKS the instance, task or pod role is used.',
      cause: err,
    })
  }
  if (/Region is missing|Invalid region|Region not accepted/i.test(message)) {
    return new AwsError(
      /not accepted|invalid/i.test(message) ? `invalid AWS region${awsMessage}` : 'no AWS region given',
      {
        code: 'aws-region',
        hint: 'Pass --region (e.g. --region us-east-1), or set AWS_REGION, or set region= in the AWS profile.',
        cause: err,
      },
    )
  }
  if (
    /Profile .* (could not be found|not found)/i.test(message) ||
    /profile.*does not exist/i.test(message)
  ) {
    return new AwsError(`AWS profile not found${awsMessage}`, {
      code: 'aws-credentials',
      hint: 'Check --aws-profile / AWS_PROFILE against the [profile ...] sections of ~/.aws/config and ~/.aws/credentials.',
      cause: err,
    })
  }
  return undefined
}

/** What the service (or the way to it) answered: credentials, access, not found, throttling, network, the rest. */
function serviceError(f: AwsFailure, ctx: CallContext): AwsError {
  return identityError(f, ctx) ?? deliveryError(f, ctx)
}

/** The caller's side: credentials rejected, access denied, or no such resource. */
function identityError({ err, e, name, awsMessage }: AwsFailure, ctx: CallContext): AwsError | undefined {
  if (BAD_CREDENTIALS.has(name)) {
    return new AwsError(`AWS rejected the credentials for ${ctx.service} ${ctx.operation}${awsMessage}`, {
      code: 'aws-credentials',
      hint:
        'The access key is unknown, expired or its secret is wrong: refresh the credentials (aws sso login, a new ' +
        'session token) and check that the clock of this machine is right.',
      cause: err,
    })
  }
  if (ACCESS_DENIED.has(name) || (e.$metadata?.httpStatusCode === 403 && !NOT_FOUND.has(name))) {
    const action = `${IAM_PREFIX[ctx.service]}:${ctx.operation.replace(/\s+/g, '')}`
    return new AwsError(
      `access denied: ${ctx.service} ${ctx.operation} on ${subject(ctx)}${where(ctx)}${awsMessage}`,
      {
        code: 'aws-access-denied',
        hint:
          `The AWS identity in use needs ${action} on this resource: check its IAM policy (and any SCP or permission ` +
          `boundary). \`aws sts get-caller-identity\` shows which identity that is.${requestId(e)}`,
        cause: err,
      },
    )
  }
  if (isNotFound(err)) {
    return new AwsError(`${subject(ctx)} not found${where(ctx)}${awsMessage}`, {
      code: 'aws-not-found',
      hint: `Check the name and the region (--region or AWS_REGION): ${ctx.service} names are per region and per account.${requestId(e)}`,
      cause: err,
    })
  }
  return undefined
}

/** The request itself: throttled, the API unreachable, or any other failure (AWS's code and message). */
function deliveryError({ err, e, name, message, awsMessage }: AwsFailure, ctx: CallContext): AwsError {
  if (THROTTLING.has(name) || e.$metadata?.httpStatusCode === 429) {
    const attempts = e.$metadata?.attempts
    return new AwsError(
      `AWS ${ctx.service} kept throttling ${ctx.operation}${attempts ? ` after ${attempts} attempts` : ''}${awsMessage}`,
      {
        code: 'aws-throttled',
        hint: 'The account is over its API rate for this service: try again in a minute, or raise AWS_MAX_ATTEMPTS.',
        cause: err,
      },
    )
  }
  const errno =
    (err as NodeJS.ErrnoException)?.code ?? (err as { cause?: NodeJS.ErrnoException })?.cause?.code
  if (!e.$metadata?.httpStatusCode && (NETWORK_CODES.has(errno ?? '') || name === 'TimeoutError')) {
    return new AwsError(`cannot reach the ${ctx.service} API for ${ctx.operation}${awsMessage}`, {
      code: 'aws-unreachable',
      hint: `Check the network path to AWS (proxy, VPC endpoint) and ${ENDPOINT_ENV[ctx.service]} / AWS_ENDPOINT_URL if set.`,
      cause: err,
    })
  }
  if (e.$metadata) {
    // Any other service error: AWS's code and message are the best explanation there is.
    return new AwsError(
      `${ctx.service} ${ctx.operation} failed for ${subject(ctx)}: ${name || 'error'}${awsMessage}`,
      {
        code: 'aws-api',
        hint: `AWS refused the request${requestId(e)}.`,
        cause: err,
      },
    )
  }
  return new AwsError(`${ctx.service} ${ctx.operation} failed: ${message}`, { code: 'aws-api', cause: err })
}
