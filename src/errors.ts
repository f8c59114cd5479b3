import { dirname, resolve } from 'node:path'

/**
 * Exit codes are part of kvtop's contract (README: Exit codes): scripts branch on them.
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

/** What a file-system error while writing means, and what to do about it. */
const FILE_WRITE_ERRORS: Record<string, { code: string; what: (dir: string) => string; hint: string }> = {
  ENOSPC: {
    code: 'disk-full',
    what: (dir) => `the disk holding ${dir} is full (ENOSPC)`,
    hint: 'Free space on that disk, or write the file to another disk, then run the command again.',
  },
  EDQUOT: {
    code: 'quota-exceeded',
    what: (dir) => `the disk quota for ${dir} is used up (EDQUOT)`,
    hint: 'Free space within the quota, or write the file to another disk, then run the command again.',
  },
  EIO: {
    code: 'io-error',
    what: (dir) => `the disk holding ${dir} reported an I/O error (EIO)`,
    hint: 'Check that disk (the kernel log names the device), or write the file to another disk, then run the command again.',
  },
  EROFS: {
    code: 'read-only',
    what: (dir) => `${dir} is on a read-only file system (EROFS)`,
    hint: 'Write the file to a writable disk, then run the command again.',
  },
}

/**
 * A write to `path` failed midway (disk full, quota, I/O error, read-only file system ...): the
 * error to report (exit 5), saying what happened and what to do. The atomic file helper has removed
 * its temporary file by then: nothing partial is left, under the final name or any other. A
 * KvtopError passes as it is.
 */
export function fileWriteError(err: unknown, path: string): KvtopError {
  if (err instanceof KvtopError) return err
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const known =
    code !== undefined && Object.hasOwn(FILE_WRITE_ERRORS, code) ? FILE_WRITE_ERRORS[code] : undefined
  const what = known ? known.what(dirname(resolve(path))) : (code ?? errorMessage(err))
  return new OperationError(`cannot write ${path}: ${what}; no partial file was left behind`, {
    code: known?.code ?? 'write-failed',
    hint: known?.hint ?? 'Check the disk, or write the file elsewhere, then run the command again.',
    cause: err,
  })
}
