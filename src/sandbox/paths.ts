import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where sandboxes keep their state: KVTOP_SANDBOX_DIR, else $XDG_STATE_HOME/kvtop/sandboxes. */
export function sandboxRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KVTOP_SANDBOX_DIR) return env.KVTOP_SANDBOX_DIR
  const state =
    env.XDG_STATE_HOME && env.XDG_STATE_HOME.trim() ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state')
  return join(state, 'kvtop', 'sandboxes')
}

export function sandboxDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(sandboxRoot(env), name)
}
