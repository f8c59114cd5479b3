import { Command } from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import { ExitCode, KvtopError, OperationError, UsageError, type ExitCodeValue } from './errors.js'
import { redact, redactDeep } from './redact.js'
import { toKvtopError } from './error-mapping.js'
import { confirmYesNo, type ConfirmOptions } from './ui/confirm.js'
import { outputModeFrom, setOutputMode } from './ui/output-mode.js'
import { createReporter, reporterMode } from './ui/reporter.js'
import type { Reporter } from './ops/events.js'
import { whileInterruptible, type Interrupts } from './interrupts.js'
import type { ConnectionFlagValues } from './connect/flags.js'
import { installProfileSources, type ConnectionInput } from './connect/options.js'
import { profileSourcesWithSandboxes } from './sandbox/profile-sources.js'
import { describeSide, resolvePair, type PairConnectionFlagValues } from './pair-flags.js'
import { type AwsConnectionFlagValues, type AwsConnectionResult } from './aws/target.js'
import { connectionInputWithAws } from './aws/flags.js'

/** What runOperation() hands the operation it runs. */
export interface OperationShell extends Interrupts {
  /** The operation's events, to the reporter (ink view, heartbeat lines, NDJSON or nothing). */
  emit: Reporter['onEvent']
  /** Stop the view while `ask` has the terminal (a question), then start a new one. */
  withViewPaused<T>(ask: () => Promise<T>): Promise<T>
}

export interface RunOperationOptions {
  /** Title of the progress view; without one the operation's events are not shown. */
  reporter?: string
  /** Said at the first Ctrl-C or SIGTERM, once `signal` is aborted. */
  onInterrupt?: () => void
  /**
   * The second Ctrl-C or SIGTERM: 'exit' (default) ends the process at once, exit 5;
   * 'abort' aborts `hardStop`, for an operation that stops at once by itself.
   */
  secondInterrupt?: 'exit' | 'abort'
  /** Whether the same command picks up again after a forced stop (it keeps a checkpoint). */
  resumable?: boolean
  /** false: Ctrl-C and SIGTERM keep their default (the process ends), for work with no clean stop. */
  interruptible?: boolean
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

/**
 * Shared behaviour of every kvtop command: `--json`, exit codes, error mapping and redaction.
 *
 * oclif's own error path drops custom exit codes under `--json` and prints raw stacks, so errors are
 * handled here entirely: mapped to a KvtopError, redacted, printed once (JSON on stdout with
 * `--json`, text on stderr otherwise), and the exit code put on `process.exitCode`.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'no-color': Flags.boolean({
      description: 'Disable colors (also NO_COLOR set to anything, or TERM=dumb)',
      helpGroup: 'GLOBAL',
    }),
    quiet: Flags.boolean({
      description: 'No progress output (views and heartbeat lines); warnings and errors still go to stderr',
      helpGroup: 'GLOBAL',
    }),
  }

  /** Set by a command whose answer is "no" (verify found differences, plan found blockers). */
  protected resultExitCode: ExitCodeValue = ExitCode.ok

  /** An NDJSON stream was started on stdout (--watch/--follow with --json): an error ends it as one line. */
  private jsonStreamStarted = false

  /** What the command opened that must be closed however it ends (IAM token refresh, AWS clients). */
  private readonly cleanups: (() => void | Promise<void>)[] = []

  /**
   * The endpoint a command talks to: its URL, or the deployment named by --elasticache /
   * --serverless / --memorydb (looked up at AWS), with --iam tokens. Released when the command ends.
   * What AWS had to say on the way (retries, a deployment not available) is a warning unless
   * `onNotice` takes it.
   */
  protected async resolveEndpoint(
    url: string | undefined,
    flags: ConnectionFlagValues & AwsConnectionFlagValues & { cloudwatch?: boolean },
    options: { onNotice?: (message: string) => void } = {},
  ): Promise<AwsConnectionResult> {
    const result = await connectionInputWithAws(url, flags, {
      onNotice: options.onNotice ?? ((m) => this.warn(m)),
    })
    this.cleanups.push(() => result.close())
    return result
  }

  /**
   * `--target` of replay and snapshot restore: a URL, or a profile name as verify's --target takes
   * (then --profile must not name another one).
   */
  protected async resolveTargetFlag(
    flags: ConnectionFlagValues & AwsConnectionFlagValues & { target: string },
  ): Promise<AwsConnectionResult> {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(flags.target)) return this.resolveEndpoint(flags.target, flags)
    if (flags.profile)
      throw new UsageError(
        `--target '${flags.target}' is not a URL, and --profile is given too: give one target`,
      )
    return this.resolveEndpoint(undefined, { ...flags, profile: flags.target })
  }

  /**
   * Both sides of verify / migrate, each resolved as resolveEndpoint() resolves one, and printed
   * (masked) before any work: `Source: ...` / `Target: ...` lines, or an `endpoints` event with --json.
   */
  protected async resolvePairEndpoints(
    flags: PairConnectionFlagValues,
  ): Promise<{ source: ConnectionInput; target: ConnectionInput }> {
    const { source, target } = await resolvePair(flags, { onNotice: (m) => this.warn(m) })
    this.cleanups.push(
      () => source.close(),
      () => target.close(),
    )
    const shown = { source: describeSide(source), target: describeSide(target) }
    if (this.jsonEnabled()) this.emitEventLine({ type: 'endpoints', at: Date.now(), ...shown })
    else this.diag(`Source: ${shown.source}\nTarget: ${shown.target}`)
    return { source: source.input, target: target.input }
  }

  /**
   * The one way a command runs a long operation: Ctrl-C and SIGTERM abort `signal` (the operation
   * stops cleanly, a second one ends the process at once, exit 5), and the progress view lives
   * exactly as long as the operation, so the command's result prints after it.
   */
  protected async runOperation<T>(
    work: (shell: OperationShell) => Promise<T>,
    options: RunOperationOptions = {},
  ): Promise<T> {
    const title = options.reporter
    const newReporter = () =>
      title === undefined ? undefined : createReporter(reporterMode(this.jsonEnabled()), title)
    let reporter = newReporter()
    const shell = (interrupts: Interrupts): OperationShell => ({
      ...interrupts,
      emit: (event) => reporter?.onEvent(event),
      withViewPaused: async (ask) => {
        reporter?.finish()
        const answer = await ask()
        reporter = newReporter()
        return answer
      },
    })
    try {
      if (options.interruptible === false)
        return await work(
          shell({ signal: new AbortController().signal, hardStop: new AbortController().signal }),
        )
      return await whileInterruptible((interrupts) => work(shell(interrupts)), {
        onFirst: options.onInterrupt,
        second: options.secondInterrupt,
        onForcedExit: () => {
          reporter?.finish()
          this.reportError(
            new OperationError('stopped at once by a second Ctrl-C or SIGTERM', {
              code: 'interrupted',
              resumable: options.resumable,
            }),
          )
        },
      })
    } finally {
      reporter?.finish()
    }
  }

  /**
   * A watch (--watch, --follow): `start` runs until it calls `finish`, or until Ctrl-C or SIGTERM,
   * which end it as a normal stop (the command then closes what it opened and exits 0).
   */
  protected async watchUntilStopped(start: (finish: () => void) => void): Promise<void> {
    await this.runOperation(
      ({ signal }) =>
        new Promise<void>((finish) => {
          signal.addEventListener('abort', () => finish(), { once: true })
          start(finish)
        }),
    )
  }

  override async init(): Promise<void> {
    await super.init()
    setOutputMode(outputModeFrom(this.argv))
    // Every command reaches sandboxes by name (sandbox:NAME) and the running default sandbox.
    installProfileSources(profileSourcesWithSandboxes)
  }

  protected get colorEnabled(): boolean {
    return outputModeFrom(this.argv).color && Boolean(process.stdout.isTTY)
  }

  protected get interactive(): boolean {
    return Boolean(process.stdout.isTTY) && !this.jsonEnabled()
  }

  override log(message = '', ...args: unknown[]): void {
    if (this.jsonEnabled()) return
    process.stdout.write(redact([message, ...args.map(String)].join(' ')) + '\n')
  }

  /**
   * Ask before billable or destructive work: `question [y/N]` on stderr when stdin and stderr are
   * terminals. With `yes` (--yes) nothing is asked; not on a terminal, or with --json, it is refused
   * (exit 2, naming --yes), and so is any answer but y/yes.
   */
  protected async confirm(
    question: string,
    options: { yes: boolean } & Pick<ConfirmOptions, 'action' | 'nothingDone' | 'hint'>,
  ): Promise<void> {
    await confirmYesNo(question, { ...options, json: this.jsonEnabled() })
  }

  /**
   * Diagnostics and progress: always stderr, so stdout stays parseable. Under --json every stderr
   * line is an NDJSON event too (`{type: "notice", at, message}`), so a script can read both streams.
   */
  protected diag(message: string): void {
    if (this.jsonEnabled()) this.emitEventLine({ type: 'notice', at: Date.now(), message })
    else process.stderr.write(redact(message) + '\n')
  }

  override logToStderr(message = ''): void {
    this.diag(message)
  }

  override warn(input: string | Error): string | Error {
    const message = typeof input === 'string' ? input : input.message
    if (this.jsonEnabled()) this.emitEventLine({ type: 'warning', at: Date.now(), message })
    else this.diag(`Warning: ${message}`)
    return input
  }

  override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(redactDeep(json), null, 2) + '\n')
  }

  /** One line of an NDJSON stream on stdout: the output of `--watch` and `--follow`. */
  protected emitJsonLine(event: unknown): void {
    this.jsonStreamStarted = true
    process.stdout.write(JSON.stringify(redactDeep(event)) + '\n')
  }

  /** One NDJSON progress event on stderr, beside the result document that goes to stdout. */
  protected emitEventLine(event: unknown): void {
    process.stderr.write(JSON.stringify(redactDeep(event)) + '\n')
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<void> {
    this.reportError(err)
  }

  /**
   * A failure found in a result that was still worth showing (a status in which no node answered):
   * the result is printed as usual, then the error as any other is, but on stderr only (the
   * document on stdout stays the result), and its exit code at the end.
   */
  protected failAfterResult(err: KvtopError): void {
    this.resultExitCode = err.exitCode
    this.describeError(err, { onStdout: false })
  }

  /** An error, printed once the contract's way (see the class comment), its exit code set. */
  private reportError(err: Error & { exitCode?: number }): void {
    const mapped = toKvtopError(err)
    process.exitCode = mapped.exitCode
    if (process.env.KVTOP_DEBUG && err.stack) this.diag(err.stack)
    this.describeError(mapped, { onStdout: true })
  }

  /**
   * An error for the user: under --json an `error` event on stderr (and, `onStdout`, the command's
   * document or its stream's last line), else `Error: ...`, the hint and whether it can be resumed.
   */
  private describeError(mapped: KvtopError, { onStdout }: { onStdout: boolean }): void {
    if (this.jsonEnabled()) {
      const error = {
        code: mapped.code,
        message: mapped.message,
        hint: mapped.hint,
        exitCode: mapped.exitCode,
        ...(mapped.resumable === undefined ? {} : { resumable: mapped.resumable }),
      }
      const event = { type: 'error', at: Date.now(), ...error }
      // A stream (--watch, --follow) ends with one more line of its kind; otherwise one document.
      if (onStdout) {
        if (this.jsonStreamStarted || this.streamRequested()) this.emitJsonLine(event)
        else this.logJson({ error })
      }
      // stderr too, as an event: a script reading JSON still sees why it failed.
      this.emitEventLine(event)
      return
    }
    this.diag(`Error: ${mapped.message}`)
    if (mapped.hint) this.diag(mapped.hint)
    if (mapped.resumable !== undefined)
      this.diag(
        mapped.resumable
          ? 'The operation can be resumed by running the same command again.'
          : 'The operation cannot be resumed; start it again.',
      )
  }

  private streamRequested(): boolean {
    const end = this.argv.indexOf('--')
    const flags = end < 0 ? this.argv : this.argv.slice(0, end)
    return flags.includes('--watch') || flags.includes('--follow')
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    for (const cleanup of this.cleanups.splice(0)) {
      try {
        await cleanup()
      } catch {
        // Closing is best effort: the command's own outcome is what the user needs to see.
      }
    }
    if (!err && process.exitCode === undefined) process.exitCode = this.resultExitCode
    await super.finally(err)
  }
}

export { KvtopError }
