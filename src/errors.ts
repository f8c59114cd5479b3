/**
 * Exit codes are part of kvtop's contract (DESIGN.md): scripts branch on them.
 */
export const ExitCode = {
  ok: 0,
  answerNo: 1,
  usage: 2,
  connect: 3,
  aws: 4,
  failed: 5,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface KvtopErrorOptions {
  /** What the user can do about it; printed under the message. */
  hint?: string
  /** A short machine-readable reason, e.g. 'auth-failed', 'port-in-use'. */
  code?: string
  cause?: unknown
  /** For operations that stopped midway: can the same command pick up where it left off? */
  resumable?: boolean
}

export class KvtopError extends Error {
  readonly exitCode: ExitCodeValue
  readonly hint?: string
  readonly code: string
  readonly resumable?: boolean

  constructor(exitCode: ExitCodeValue, message: string, options: KvtopErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'KvtopError'
    this.exitCode = exitCode
    this.hint = options.hint
    this.code = options.code ?? 'error'
    this.resumable = options.resumable
  }
}

export class UsageError extends KvtopError {
  constructor(message: string, options: KvtopErrorOptions = {}) {
    super(ExitCode.usage, message, { code: 'usage', ...options })
    this.name = 'UsageError'
  }
}

export class ConnectError extends KvtopError {
  constructor(message: string, options: KvtopErrorOptions = {}) {
    super(ExitCode.connect, message, { code: 'connect', ...options })
    this.name = 'ConnectError'
  }
}

export class AwsError extends KvtopError {
  constructor(message: string, options: KvtopErrorOptions = {}) {
    super(ExitCode.aws, message, { code: 'aws', ...options })
    this.name = 'AwsError'
  }
}

export class OperationError extends KvtopError {
  constructor(message: string, options: KvtopErrorOptions = {}) {
    super(ExitCode.failed, message, { code: 'failed', ...options })
    this.name = 'OperationError'
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
