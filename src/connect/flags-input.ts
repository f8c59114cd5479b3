import { UsageError } from '../errors.js'
import { parseTimeoutFlag, type ConnectionFlagValues } from './flags.js'
import type { ConnectionInput } from './options.js'

/** Turn parsed connection flags (and the URL argument) into a ConnectionInput. */
export function connectionInput(url: string | undefined, flags: ConnectionFlagValues): ConnectionInput {
  const timeout = parseTimeoutFlag(flags.timeout)
  if (timeout !== undefined && Number.isNaN(timeout)) {
    throw new UsageError(`invalid --timeout '${flags.timeout}': expected seconds such as 5 or 0.5`)
  }
  return {
    url,
    user: flags.user,
    tlsCa: flags['tls-ca'],
    insecure: flags.insecure || undefined,
    timeout,
    profile: flags.profile,
    natMap: flags['nat-map'],
  }
}
