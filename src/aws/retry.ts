/**
 * Retries for AWS API calls: throttling backs off exponentially with full jitter (AWS's advice
 * for control-plane APIs), transient network and 5xx errors get a few quick retries, anything
 * else fails at once. It plugs into the SDK's retry middleware as a `retryStrategy` (the SDK's
 * RetryStrategyV2 shape) so every call of every client goes through it, and it reports each
 * retry so that the user sees why a command is slow.
 */

export interface RetryNotice {
  service: string
  errorName: string
  message: string
  throttling: boolean
  /** The attempt about to be made (2 = first retry). */
  attempt: number
  maxAttempts: number
  delayMs: number
}

export interface RetryConfig {
  /** Attempts in all for throttling (AWS_MAX_ATTEMPTS; default 8). */
  maxAttempts: number
  /** Attempts in all for transient network / 5xx errors. */
  transientMaxAttempts: number
  /** Base delay for throttling; transient errors use a fifth of it (KVTOP_AWS_RETRY_BASE_MS; default 500). */
  baseDelayMs: number
  maxDelayMs: number
  random: () => number
}

/** Service-specific throttling codes the SDK does not classify as throttling. */
const EXTRA_THROTTLING = new Set(['APICallRateForCustomerExceededFault', 'APICallRateForCustomerExceeded'])

export function retryConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RetryConfig {
  const attempts = Number(env.AWS_MAX_ATTEMPTS)
  const base = Number(env.KVTOP_AWS_RETRY_BASE_MS)
  return {
    maxAttempts: Number.isInteger(attempts) && attempts >= 1 ? attempts : 8,
    transientMaxAttempts: 3,
    baseDelayMs: Number.isFinite(base) && base >= 0 ? base : 500,
    maxDelayMs: 20_000,
    random: Math.random,
  }
}

/** Full jitter: a random delay in [0, min(cap, base * 2^(retry-1))]. `retry` counts from 1. */
export function backoffDelay(retry: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1))
  return Math.floor(random() * ceiling)
}

type ErrorType = 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR'

interface RetryErrorInfo {
  error: unknown
  errorType: ErrorType
  retryAfterHint?: Date
}

class Token {
  constructor(
    private readonly count: number,
    private readonly delay: number,
  ) {}
  getRetryCount(): number {
    return this.count
  }
  getRetryDelay(): number {
    return this.delay
  }
  getRetryTokenCount(): number {
    return 0
  }
}

export class BackoffRetryStrategy {
  readonly mode = 'standard'

  constructor(
    private readonly service: string,
    private readonly config: RetryConfig,
    private readonly onRetry?: (notice: RetryNotice) => void,
  ) {}

  async acquireInitialRetryToken(_scope: string): Promise<Token> {
    return new Token(0, 0)
  }

  async refreshRetryTokenForRetry(token: Token, info: RetryErrorInfo): Promise<Token> {
    const error = info.error as { name?: string; message?: string } | undefined
    const throttling = info.errorType === 'THROTTLING' || EXTRA_THROTTLING.has(error?.name ?? '')
    const retryable = throttling || info.errorType === 'TRANSIENT' || info.errorType === 'SERVER_ERROR'
    const retries = token.getRetryCount() + 1
    const maxAttempts = throttling ? this.config.maxAttempts : this.config.transientMaxAttempts
    // The middleware rethrows the call's own error when this throws.
    if (!retryable || retries >= maxAttempts) throw new Error('no retry')
    const base = throttling ? this.config.baseDelayMs : this.config.baseDelayMs / 5
    let delayMs = backoffDelay(retries, base, this.config.maxDelayMs, this.config.random)
    if (info.retryAfterHint) {
      delayMs = Math.min(
        this.config.maxDelayMs,
        Math.max(delayMs, info.retryAfterHint.getTime() - Date.now()),
      )
    }
    this.onRetry?.({
      service: this.service,
      errorName: error?.name ?? 'Error',
      message: error?.message ?? String(error),
      throttling,
      attempt: retries + 1,
      maxAttempts,
      delayMs,
    })
    return new Token(retries, delayMs)
  }

  recordSuccess(_token: Token): void {}
}

export function formatRetryNotice(n: RetryNotice): string {
  const why = n.throttling
    ? `throttled the request (${n.errorName})`
    : `failed with ${n.errorName}: ${n.message}`
  return `AWS ${n.service} ${why}; retrying in ${(n.delayMs / 1000).toFixed(1)}s (attempt ${n.attempt} of ${n.maxAttempts})`
}
