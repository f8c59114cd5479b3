import { writeSync } from 'node:fs'
import { passwordsInArgs } from './connect/endpoint.js'
import { toKvtopError } from './error-mapping.js'
import { ConnectError, ExitCode, type KvtopError } from './errors.js'
import { quickVersionLine } from './quick-version.js'
import { redact, redactDeep, registerSecret } from './redact.js'

/** redis-cli's warning for `-a` / `-u`, with where the password belongs instead. */
export const PASSWORD_IN_ARGV_WARNING =
  'Using a password in a URL on the command line may not be safe (other users can see it in the process list, and it stays in the shell history); set KVTOP_PASSWORD or REDISCLI_AUTH, or put it in a profile (~/.config/kvtop/config.json).'

/**
 * Entry point of the `kvtop` binary. Errors raised inside commands are handled by BaseCommand;
 * what reaches here is oclif's own (unknown command, bad topic) and is mapped the same way.
 */
export async function main(argv: string[]): Promise<void> {
  installProcessGuards(argv)
  const version = quickVersionLine(argv)
  if (version !== undefined) {
    process.stdout.write(version + '\n')
    return
  }
  warnAboutPasswordsInArgv(argv)
  // Loaded here, after the quick answer, and from oclif's narrow entry points rather than
  // '@oclif/core' itself: its index loads ~35 ms more that `--help` never uses. The build bundles
  // oclif (CommonJS) into the CLI's own files (scripts/bundle.js): these imports load those.
  // The import() of a CommonJS module is its module.exports as `default`, in Node and in the bundle.
  const [{ flush }, { run }, { settings }] = await Promise.all([
    import('@oclif/core/flush').then((m) => m.default),
    import('@oclif/core/run').then((m) => m.default),
    import('@oclif/core/settings').then((m) => m.default),
  ])
  // The binary always runs the compiled commands, whatever NODE_ENV says (tests set it to 'test').
  settings.enableAutoTranspile = false
  try {
    await run(argv, import.meta.url)
  } catch (err) {
    const e = err as { oclif?: { exit?: number }; code?: string }
    if (e?.code === 'EEXIT' && e.oclif?.exit !== undefined) {
      process.exitCode = e.oclif.exit
    } else {
      const mapped = toKvtopError(err)
      const notFound = /command .* not found/i.test(mapped.message)
      process.exitCode = notFound ? ExitCode.usage : mapped.exitCode
      const hint = notFound ? 'Run kvtop --help for the list of commands.' : mapped.hint
      process.stderr.write(
        jsonRequested(argv)
          ? JSON.stringify(
              redactDeep({
                type: 'error',
                at: Date.now(),
                code: mapped.code,
                message: mapped.message,
                ...(hint ? { hint } : {}),
                exitCode: process.exitCode,
              }),
            ) + '\n'
          : `Error: ${mapped.message}\n${hint ? hint + '\n' : ''}`,
      )
    }
  }
  await flush()
  await drain(process.stdout)
  await drain(process.stderr)
  // Commands close what they open, but a stray socket must not keep a finished CLI alive.
  process.exit(process.exitCode ?? 0)
}

/** `--json` before any `--`, as oclif reads it. */
function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json')
}

/**
 * A password in a URL among the arguments: registered for redaction before anything can echo the
 * argument, and warned about once (as redis-cli does for -a and -u): a text line on stderr, or an
 * NDJSON warning event there under --json. Passwords from the environment or a profile are fine.
 */
export function warnAboutPasswordsInArgv(argv: readonly string[]): void {
  const end = argv.indexOf('--')
  const passwords = passwordsInArgs(end < 0 ? argv : argv.slice(0, end))
  if (!passwords.length) return
  for (const p of passwords) registerSecret(p)
  process.stderr.write(
    jsonRequested(argv)
      ? JSON.stringify({ type: 'warning', message: PASSWORD_IN_ARGV_WARNING, at: Date.now() }) + '\n'
      : `Warning: ${PASSWORD_IN_ARGV_WARNING}\n`,
  )
}

/** Socket errors that can escape a library as an unhandled 'error' event: the connection failed. */
const CONNECTION_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

let guardsInstalled = false

/**
 * The process-wide safety net. A reader that goes away (`kvtop status --json | head -c 10`) ends
 * the CLI quietly with its exit code so far (0 when none is set yet), as a Unix filter does on
 * SIGPIPE; and an error nothing caught (an 'error' event without a listener, a rejected promise
 * nobody awaits) is reported like any other error, with its exit code, never as a raw stack trace.
 */
export function installProcessGuards(argv: readonly string[] = process.argv.slice(2)): void {
  if (guardsInstalled) return
  guardsInstalled = true
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (isBrokenPipe(err)) process.exit(process.exitCode ?? 0)
    fatal(err, argv, false)
  })
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    // Nowhere left to report anything: end with the code so far.
    if (isBrokenPipe(err)) process.exit(process.exitCode ?? 0)
    process.exit(process.exitCode || ExitCode.failed)
  })
  process.on('uncaughtException', (err) => fatal(err, argv, true))
}

function isBrokenPipe(err: NodeJS.ErrnoException): boolean {
  return err?.code === 'EPIPE' || err?.code === 'ERR_STREAM_DESTROYED' || err?.code === 'ECONNRESET'
}

/** What an uncaught error means for the user: a KvtopError with the contract's exit code. */
export function uncaughtError(err: unknown): KvtopError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code && CONNECTION_ERRNOS.has(code)) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number }
    const where = e.address ? ` to ${e.address}${e.port ? `:${e.port}` : ''}` : ''
    return new ConnectError(redact(`connection${where} failed: ${code}`), {
      hint: 'Check that the server is reachable and running, then run the command again.',
    })
  }
  return toKvtopError(err)
}

let dying = false

function fatal(err: unknown, argv: readonly string[], stdoutUsable: boolean): never {
  if (dying) process.exit(process.exitCode || ExitCode.failed)
  dying = true
  const mapped = uncaughtError(err)
  const write = (fd: number, text: string) => {
    try {
      writeSync(fd, text)
    } catch {
      // the stream is gone: nothing more to say
    }
  }
  if (stdoutUsable && jsonRequested(argv)) {
    const doc = { code: mapped.code, message: mapped.message, hint: mapped.hint, exitCode: mapped.exitCode }
    write(1, JSON.stringify(redactDeep({ error: doc }), null, 2) + '\n')
  }
  if (process.env.KVTOP_DEBUG && err instanceof Error && err.stack) write(2, redact(err.stack) + '\n')
  write(2, `Error: ${mapped.message}\n${mapped.hint ? mapped.hint + '\n' : ''}`)
  process.exit(mapped.exitCode)
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writableNeedDrain || stream.destroyed) return resolve()
    stream.once('drain', () => resolve())
  })
}
