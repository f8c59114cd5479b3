import { seconds, toMs } from '../flags.js'

/**
 * `--stall-timeout SECONDS` for every long operation (migrate run, snapshot create and restore,
 * scale, replay, verify): one wording (that of migrate run), one default, one parser. Pass
 * `resumable: false` for operations that start over when run again (snapshot create).
 */
export function stallTimeoutFlag(options: { resumable?: boolean } = {}) {
  return seconds({
    description: `Stop${options.resumable === false ? '' : ' (resumable)'} when a node owes replies and answers nothing for this many seconds; 0: wait forever`,
    default: 60,
  })
}

/** The flag's value in milliseconds (0: never). */
export function parseStallTimeout(value: number): number {
  return toMs(value)
}
