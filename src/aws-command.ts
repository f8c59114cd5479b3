import * as Flags from '@oclif/core/flags'
import { BaseCommand } from './base-command.js'
import { seconds, toMs } from './flags.js'
import type { AwsClientOptions } from './aws/clients.js'
import type { AwsAccountFlagValues } from './aws/target.js'
import { formatRetryNotice } from './aws/retry.js'
import { formatPhase, type StatusChangeEvent, type WaitOptions } from './aws/waiter.js'

/** Flags of the commands that wait on AWS (snapshot creation, export). */
export const waitFlags = {
  wait: Flags.boolean({
    description: 'Wait until AWS has finished, printing each status change (--no-wait returns at once)',
    default: true,
    allowNo: true,
  }),
  'poll-interval': seconds({
    description: 'Seconds between status polls while waiting',
    default: 15,
    positive: true,
  }),
  'wait-timeout': seconds({
    description: 'Give up waiting after this many seconds (AWS carries on)',
    default: 7200,
    positive: true,
  }),
}

interface WaitFlagValues {
  wait: boolean
  'poll-interval': number
  'wait-timeout': number
}

/**
 * A command that talks to AWS. Like every command, --json gives one JSON document on stdout (the
 * result, or the error); while it waits, a `phase` event per status change (and `plan` / `check`
 * events) goes to stderr as NDJSON, with retries and notes, so scripts can follow without parsing
 * stdout twice.
 */
export abstract class AwsCommand extends BaseCommand {
  protected awsOptions(flags: AwsAccountFlagValues): AwsClientOptions {
    return {
      ...(flags.region ? { region: flags.region } : {}),
      ...(flags['aws-profile'] ? { profile: flags['aws-profile'] } : {}),
      onRetry: (n) =>
        this.jsonEnabled()
          ? this.emitEventLine({
              type: 'retry',
              at: Date.now(),
              service: n.service,
              errorName: n.errorName,
              error: n.message,
              throttling: n.throttling,
              attempt: n.attempt,
              maxAttempts: n.maxAttempts,
              delayMs: n.delayMs,
              message: formatRetryNotice(n),
            })
          : this.diag(formatRetryNotice(n)),
    }
  }

  protected waitOptions(flags: WaitFlagValues): WaitOptions & { wait: boolean } {
    return {
      wait: flags.wait,
      intervalMs: toMs(flags['poll-interval']),
      timeoutMs: toMs(flags['wait-timeout']),
      onPhase: (e) => this.phase(e),
    }
  }

  /** An NDJSON event on stderr under --json (e.g. the export plan); nothing otherwise. */
  protected event(type: string, data: object): void {
    if (this.jsonEnabled()) this.emitEventLine({ type, at: Date.now(), ...data })
  }

  protected phase(e: StatusChangeEvent): void {
    if (this.jsonEnabled()) this.emitEventLine(e)
    else this.diag(formatPhase(e))
  }
}
