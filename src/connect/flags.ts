import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import { seconds } from '../flags.js'

/**
 * `--timeout`: no flag default, so that KVTOP_TIMEOUT and a profile's `timeout` still apply when the
 * flag is not given (resolveConnectionSpec falls back to 5).
 */
export function timeoutFlag() {
  return seconds({
    description:
      "Connect and command timeout in seconds, fractions allowed (default 5, or KVTOP_TIMEOUT, or the profile's)",
    helpGroup: 'CONNECTION',
    positive: true,
  })
}

/** The flags every command that talks to a server shares (README: Connections). */
export const connectionFlags = {
  user: Flags.string({ description: 'ACL user name (overrides the URL)', helpGroup: 'CONNECTION' }),
  'tls-ca': Flags.string({
    description: 'CA certificate file (PEM) for rediss:// endpoints',
    helpGroup: 'CONNECTION',
  }),
  insecure: Flags.boolean({
    description: 'Skip TLS certificate verification (explicit only; not for production)',
    helpGroup: 'CONNECTION',
  }),
  timeout: timeoutFlag(),
  profile: Flags.string({
    description: 'Named profile from ~/.config/kvtop/config.json, or sandbox:NAME',
    helpGroup: 'CONNECTION',
  }),
  'nat-map': Flags.string({
    description: 'Map an announced address to a reachable one: host:port=host:port (repeatable)',
    multiple: true,
    helpGroup: 'CONNECTION',
  }),
}

export const urlArg = Args.string({
  description:
    'Endpoint URL: redis://[user[:password]@]host[:port][/db] or rediss://... (any node of a cluster)',
  required: false,
})

export interface ConnectionFlagValues {
  user?: string
  'tls-ca'?: string
  insecure?: boolean
  timeout?: number
  profile?: string
  'nat-map'?: string[]
}
