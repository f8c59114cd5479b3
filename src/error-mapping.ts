import { ExitCode, KvtopError, UsageError, errorMessage } from './errors.js'
import { redact } from './redact.js'

interface OclifLikeError extends Error {
  oclif?: { exit?: number }
  exitCode?: number
  code?: string
}

/** Turn anything thrown inside a command into a KvtopError with the contract's exit code. */
export function toKvtopError(err: unknown): KvtopError {
  if (err instanceof KvtopError) return withRedactedMessage(err)
  const e = err as OclifLikeError
  const message = redact(errorMessage(err))
  // oclif's flag and argument validation errors: exit 2 (usage).
  if (
    e &&
    (e.oclif || /^(Unexpected argument|Missing required|Expected|Nonexistent flag|Parsing)/.test(message))
  ) {
    if (e.oclif?.exit === 0) return new KvtopError(ExitCode.ok, message)
    return new UsageError(message.split('\nSee more help')[0], {
      hint: 'Run the command with --help for usage.',
    })
  }
  return new KvtopError(ExitCode.failed, `internal error: ${message}`, {
    code: 'internal',
    hint: 'This is a bug in kvtop; run with KVTOP_DEBUG=1 for the stack trace.',
  })
}

// oclif wraps what a flag's own parser throws as "Parsing --flag \n\t<message>\nSee more help with
// --help": the parser's message already names the flag, so only it is kept.
const FLAG_PARSE_WRAP = /^Parsing --\S+ \n\t([\s\S]*?)(?:\nSee more help with --help)?$/

function withRedactedMessage(err: KvtopError): KvtopError {
  const message = redact(FLAG_PARSE_WRAP.exec(err.message)?.[1] ?? err.message)
  const hint = err.hint === undefined ? undefined : redact(err.hint)
  if (message === err.message && hint === err.hint) return err
  return new KvtopError(err.exitCode, message, { hint, code: err.code, resumable: err.resumable })
}
