import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import type { ElastiCacheClient } from '@aws-sdk/client-elasticache'
import type { MemoryDBClient } from '@aws-sdk/client-memorydb'
import type { S3Client } from '@aws-sdk/client-s3'
import { registerSecret } from '../redact.js'
import { toAwsError, type CallContext } from './errors.js'
import { BackoffRetryStrategy, retryConfigFromEnv, type RetryConfig, type RetryNotice } from './retry.js'

export type ElastiCacheSdk = typeof import('@aws-sdk/client-elasticache')
export type MemoryDBSdk = typeof import('@aws-sdk/client-memorydb')
export type CloudWatchSdk = typeof import('@aws-sdk/client-cloudwatch')
export type S3Sdk = typeof import('@aws-sdk/client-s3')

export interface AwsClientOptions {
  /** --region; otherwise the SDK's chain (AWS_REGION, AWS_DEFAULT_REGION, the profile's region). */
  region?: string
  /** --aws-profile; otherwise AWS_PROFILE, then the default credential chain. */
  profile?: string
  /** Told about each retry (throttling, transient errors), e.g. to print it on stderr. */
  onRetry?: (notice: RetryNotice) => void
  retry?: Partial<RetryConfig>
  env?: NodeJS.ProcessEnv
}

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  expiration?: Date
}

// Applies to every client: bounded connects and requests instead of the SDK's unbounded defaults.
const REQUEST_HANDLER = { connectionTimeout: 5_000, requestTimeout: 60_000 }

/**
 * The AWS clients of one command run, created on first use (each SDK module is loaded only when
 * needed: loading all four costs half a second). Region, profile, endpoint override
 * (AWS_ENDPOINT_URL_ELASTICACHE / _MEMORYDB / _CLOUDWATCH / _S3, as the SDK honours them) and the
 * retry strategy are the same for all.
 */
export class AwsClients {
  private readonly cache = new Map<string, Promise<unknown>>()
  private readonly env: NodeJS.ProcessEnv

  constructor(readonly options: AwsClientOptions = {}) {
    this.env = options.env ?? process.env
    // The SDK reads AWS_REGION only, and takes an empty one for a region; the AWS CLI also
    // honours AWS_DEFAULT_REGION. Behave like the CLI.
    if (this.env.AWS_REGION === '') delete this.env.AWS_REGION
    if (!options.region && !this.env.AWS_REGION && this.env.AWS_DEFAULT_REGION)
      options.region = this.env.AWS_DEFAULT_REGION
    // The SDK warns on every run under Node 20 that future SDK releases will need Node 22; kvtop
    // pins its SDK versions, so the warning is noise on stderr.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  }

  private config(service: string): Record<string, unknown> {
    const retry = { ...retryConfigFromEnv(this.env), ...this.options.retry }
    return {
      ...(this.options.region ? { region: this.options.region } : {}),
      ...(this.options.profile ? { profile: this.options.profile } : {}),
      maxAttempts: retry.maxAttempts,
      retryStrategy: new BackoffRetryStrategy(service, retry, this.options.onRetry),
      requestHandler: REQUEST_HANDLER,
    }
  }

  private lazy<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined
    if (!p) {
      p = make()
      this.cache.set(key, p)
    }
    return p
  }

  elasticache(): Promise<{ client: ElastiCacheClient; sdk: ElastiCacheSdk }> {
    return this.lazy('elasticache', async () => {
      const sdk = await import('@aws-sdk/client-elasticache')
      return { client: new sdk.ElastiCacheClient(this.config('ElastiCache')), sdk }
    })
  }

  memorydb(): Promise<{ client: MemoryDBClient; sdk: MemoryDBSdk }> {
    return this.lazy('memorydb', async () => {
      const sdk = await import('@aws-sdk/client-memorydb')
      return { client: new sdk.MemoryDBClient(this.config('MemoryDB')), sdk }
    })
  }

  cloudwatch(): Promise<{ client: CloudWatchClient; sdk: CloudWatchSdk }> {
    return this.lazy('cloudwatch', async () => {
      const sdk = await import('@aws-sdk/client-cloudwatch')
      return { client: new sdk.CloudWatchClient(this.config('CloudWatch')), sdk }
    })
  }

  s3(): Promise<{ client: S3Client; sdk: S3Sdk }> {
    return this.lazy('s3', async () => {
      const sdk = await import('@aws-sdk/client-s3')
      // A local or S3-compatible endpoint (LocalStack, MinIO, kvtop's test fake) cannot serve
      // virtual-hosted bucket names; path style works everywhere.
      const override = Boolean(this.env.AWS_ENDPOINT_URL_S3 || this.env.AWS_ENDPOINT_URL)
      return {
        client: new sdk.S3Client({
          ...this.config('S3'),
          forcePathStyle: override,
          followRegionRedirects: true,
        }),
        sdk,
      }
    })
  }

  /** The region in use; an AwsError naming the ways to set it when there is none. */
  async region(): Promise<string> {
    if (this.options.region) return this.options.region
    const { client } = await this.elasticache()
    try {
      return await client.config.region()
    } catch (err) {
      throw toAwsError(err, { service: 'ElastiCache', operation: 'resolve region' })
    }
  }

  /** Credentials from the same chain the clients use (for signing IAM auth tokens). */
  async credentials(): Promise<AwsCredentials> {
    const { client } = await this.elasticache()
    try {
      const c = await client.config.credentials()
      registerSecret(c.secretAccessKey)
      registerSecret(c.sessionToken)
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
        ...(c.expiration ? { expiration: c.expiration } : {}),
      }
    } catch (err) {
      throw toAwsError(err, { service: 'ElastiCache', operation: 'load credentials' })
    }
  }

  destroy(): void {
    for (const p of this.cache.values()) {
      ;(p as Promise<{ client: { destroy(): void } }>).then((c) => c.client.destroy()).catch(() => {})
    }
    this.cache.clear()
  }
}

/** Run one AWS call; any failure becomes an AwsError (exit 4) that names the call and the resource. */
export async function awsCall<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toAwsError(err, ctx)
  }
}
