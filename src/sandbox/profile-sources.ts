import { UsageError } from '../errors.js'
import { registerSecret } from '../redact.js'
import { getProfile, type Profile } from '../connect/config.js'
import type { ProfileSources } from '../connect/options.js'
import { isProcessAlive, readPid } from './process.js'
import { readState, sandboxUrl } from './state.js'

// Every command installs these at start-up (BaseCommand.init), so this module stays light: state
// files and pid checks only, nothing that starts, stops or talks to a server.

/** A running sandbox as a connection profile (url and password), for `--profile sandbox:NAME`. */
export function sandboxProfile(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; password?: string } | undefined {
  const state = readState(name, env)
  if (!state) return undefined
  if (!state.nodes.some((n) => isProcessAlive(readPid(n), n.port))) return undefined
  registerSecret(state.clientPassword)
  return { url: sandboxUrl(state), ...(state.clientPassword ? { password: state.clientPassword } : {}) }
}

/**
 * Profiles as the commands see them: the config file's, `sandbox:NAME` for a running sandbox, and
 * the running default sandbox when nothing else names an endpoint. BaseCommand installs these.
 */
export const profileSourcesWithSandboxes: ProfileSources = {
  profile: (name) => getProfile(name),
  sandbox: (name) => sandboxProfile(name),
}

/** The profile as stored (password included): for connecting, never for printing. */
export function findProfile(name: string, env: NodeJS.ProcessEnv = process.env): Profile {
  const sandbox = /^sandbox:(.+)$/.exec(name)?.[1]
  if (!sandbox) return getProfile(name, env)
  const found = sandboxProfile(sandbox, env)
  if (!found)
    throw new UsageError(`no running sandbox named '${sandbox}'`, {
      hint: 'List them with: kvtop sandbox status',
    })
  return found
}
