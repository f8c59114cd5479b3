import { Flags } from '@oclif/core'
import { UsageError } from '../errors.js'
import { parseTimeoutFlag } from './flags.js'
import type { ConnectionInput } from './options.js'

/**
 * Commands that join two deployments (verify, migrate): each side is a URL or a profile name
 * (`sandbox:NAME` for a sandbox); TLS and timeout settings apply to both.
 */
export const pairFlags = {
  source: Flags.string({
    description: 'Source: redis[s]://[user[:password]@]host[:port][/db], or a profile name (sandbox:NAME)',
    required: true,
    helpGroup: 'CONNECTION',
  }),
  target: Flags.string({
    description: 'Target: a URL or a profile name, as --source',
    required: true,
    helpGroup: 'CONNECTION',
  }),
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
}

export interface PairFlagValues {
  source: string
  target: string
  'tls-ca'?: string
  insecure?: boolean
  timeout?: string
}

/** One side: a URL, or else a profile name. */
export function sideInput(value: string, flags: Omit<PairFlagValues, 'source' | 'target'>): ConnectionInput {
  const timeout = parseTimeoutFlag(flags.timeout)
  if (timeout !== undefined && Number.isNaN(timeout)) {
    throw new UsageError(`invalid --timeout '${flags.timeout}': expected seconds such as 5 or 0.5`)
  }
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
  return {
    ...(isUrl ? { url: value } : { profile: value }),
    tlsCa: flags['tls-ca'],
    insecure: flags.insecure || undefined,
    timeout,
  }
}

export function pairInputs(flags: PairFlagValues): { source: ConnectionInput; target: ConnectionInput } {
  return { source: sideInput(flags.source, flags), target: sideInput(flags.target, flags) }
}
