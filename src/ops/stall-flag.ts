import { Flags } from '@oclif/core'
import { UsageError } from '../errors.js'

/**
 * `--stall-timeout SECONDS` for every long operation (migrate run, snapshot create and restore,
 * scale, replay, verify): one wording (that of migrate run), one default, one parser. Pass
 * `resumable: false` for operations that start over when run again (snapshot create).
 */
export function stallTimeoutFlag(options: { resumable?: boolean } = {}) {
  return Flags.string({
    description: `Stop${options.resumable === false ? '' : ' (resumable)'} when a node owes replies and answers nothing for this many seconds; 0: wait forever`,
    default: '60',
  })
}

/** The flag's value in milliseconds (0: never). */
export function parseStallTimeout(value: string): number {
  const seconds = Number(value)
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0)
    throw new UsageError(
      `invalid --stall-timeout '${value}': expected seconds such as 60, or 0 to wait forever`,
    )
  return Math.round(seconds * 1000)
}
