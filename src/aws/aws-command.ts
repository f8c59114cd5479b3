import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { UsageError } from '../errors.js'
import { parseTimeoutFlag } from '../connect/flags.js'
import type { AwsClientOptions } from './clients.js'
import type { AwsAccountFlagValues } from './flags.js'
import { formatRetryNotice } from './retry.js'
import { formatPhase, type PhaseEvent, type WaitOptions } from './waiter.js'

/** Flags of the commands that wait on AWS (snapshot creation, export). */
export const waitFlags = {
  wait: Flags.boolean({
    description: 'Wait until AWS has finished, printing each status change (--no-wait returns at once)',
    default: true,
    allowNo: true,
  }),
  'poll-interval': Flags.string({ description: 'Seconds between status polls while waiting', default: '15' }),
  'wait-timeout': Flags.string({
    description: 'Give up waiting after this many seconds (AWS carries on)',
    default: '7200',
  }),
}

export interface WaitFlagValues {
  wait: boolean
  'poll-interval': string
  'wait-timeout': string
}

function seconds(flag: string, value: string): number {
  const n = parseTimeoutFlag(value)
  if (n === undefined || Number.isNaN(n))
    throw new UsageError(`invalid --${flag} '${value}': expected seconds such as 15 or 0.5`)
  return n
}

/**
 * A command that talks to AWS. Under --json a waiting command writes NDJSON on stdout: a `phase`
 * event per status change, then one `done` event with the result (or an `error` event); without
 * waiting it prints one JSON document as usual. Retries and notes go to stderr.
 */
export abstract class AwsCommand extends BaseCommand {
  private streaming = false

  protected awsOptions(flags: AwsAccountFlagValues): AwsClientOptions {
    return {
      ...(flags.region ? { region: flags.region } : {}),
      ...(flags['aws-profile'] ? { profile: flags['aws-profile'] } : {}),
      onRetry: (n) => this.diag(formatRetryNotice(n)),
    }
  }

  protected waitOptions(flags: WaitFlagValues): WaitOptions & { wait: boolean } {
    this.streaming = this.jsonEnabled() && flags.wait
    return {
      wait: flags.wait,
      intervalMs: seconds('poll-interval', flags['poll-interval']) * 1000,
      timeoutMs: seconds('wait-timeout', flags['wait-timeout']) * 1000,
      onPhase: (e) => this.phase(e),
    }
  }

  /** An NDJSON event when streaming (e.g. the export plan); nothing otherwise. */
  protected event(type: string, data: object): void {
    if (this.streaming) this.emitJsonLine({ type, at: Date.now(), ...data })
  }

  protected phase(e: PhaseEvent): void {
    if (this.streaming) this.emitJsonLine(e)
    else if (!this.jsonEnabled()) this.diag(formatPhase(e))
  }

  /** What run() returns: under NDJSON the result goes out as the `done` event instead. */
  protected finish<T extends object>(result: T): T | undefined {
    if (!this.streaming) return result
    this.emitJsonLine({ type: 'done', at: Date.now(), ...result })
    return undefined
  }

  override logJson(json: unknown): void {
    if (!this.streaming) return super.logJson(json)
    // The error document of BaseCommand.catch, as one NDJSON line.
    this.emitJsonLine({ type: 'error', at: Date.now(), ...(json as object) })
  }
}
