import { toConfiguredId, type Hook } from '@oclif/core'
import suggestOnTerminal from '@oclif/plugin-not-found'
import { closest, distance } from 'fastest-levenshtein'
import { UsageError } from '../errors.js'

/**
 * The command id nearest to what was typed (edit distance), when it is near enough to be what was
 * meant: a slip of two keys in a short word, up to a third of a long one. Nothing for plain noise.
 */
export function nearestCommand(typed: string, ids: readonly string[]): string | undefined {
  if (!ids.length) return undefined
  const best = closest(typed, [...ids])
  return distance(typed, best) <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined
}

/**
 * A mistyped command (`kvtop stauts`). On a terminal, @oclif/plugin-not-found asks "Did you mean
 * status?" and runs it on yes. Anywhere else (a script, CI, a pipe) nobody can answer, so nothing
 * waits: the suggestion goes into the usage error (exit 2) and the script's log shows the fix.
 */
const commandNotFound: Hook.CommandNotFound = async function (opts) {
  if (process.stdin.isTTY && process.stderr.isTTY) return suggestOnTerminal.call(this, opts)
  const visible = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const suggestion = nearestCommand(opts.id, visible)
  const typed = toConfiguredId(opts.id, opts.config)
  throw new UsageError(
    `command ${typed} not found${suggestion ? `. Did you mean ${toConfiguredId(suggestion, opts.config)}?` : ''}`,
  )
}

export default commandNotFound
