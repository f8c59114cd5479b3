import type { ConnectionFlagValues } from './flags.js'
import type { ConnectionInput } from './options.js'

/** Turn parsed connection flags (and the URL argument) into a ConnectionInput. */
export function connectionInput(url: string | undefined, flags: ConnectionFlagValues): ConnectionInput {
  return {
    url,
    user: flags.user,
    tlsCa: flags['tls-ca'],
    insecure: flags.insecure || undefined,
    timeout: flags.timeout,
    profile: flags.profile,
    natMap: flags['nat-map'],
  }
}
