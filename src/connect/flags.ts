import { Args, Flags } from '@oclif/core'

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
  timeout: Flags.string({
    description: 'Connect and command timeout in seconds, fractions allowed (default 5)',
    helpGroup: 'CONNECTION',
  }),
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
  timeout?: string
  profile?: string
  'nat-map'?: string[]
}

export function parseTimeoutFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!/^\d*\.?\d+$/.test(value.trim()) || !Number.isFinite(n) || n <= 0) return Number.NaN
  return n
}
