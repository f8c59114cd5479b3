import { toConfiguredId } from '@oclif/core/util/ids'
import type { Hook } from '@oclif/core/hooks'
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
 * The command part of what oclif passes as the id. With spaces between topic and command, oclif
 * joins every word, arguments too (`snapshot creat x.rdb` -> `snapshot:creat:x.rdb`): the command is
 * the known topics typed plus one word.
 */
export function typedCommandId(id: string, isTopic: (id: string) => boolean): string {
  const words = id.split(':')
  let n = 1
  while (n < words.length && isTopic(words.slice(0, n).join(':'))) n++
  return words.slice(0, n).join(':')
}

/**
 * A mistyped command (`kvtop stauts`). On a terminal, @oclif/plugin-not-found asks "Did you mean
 * status?" and runs it on yes. Anywhere else (a script, CI, a pipe) nobody can answer, so nothing
 * waits: the suggestion goes into the usage error (exit 2) and the script's log shows the fix.
 */
const commandNotFound: Hook.CommandNotFound = async function (opts) {
  if (process.stdin.isTTY && process.stderr.isTTY) {
    // Only then: the prompt library is the heaviest thing the plugin loads.
    const { default: suggestOnTerminal } = await import('@oclif/plugin-not-found')
    return suggestOnTerminal.call(this, opts)
  }
  const visible = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const typedId = typedCommandId(opts.id, (id) => Boolean(opts.config.findTopic(id)))
  const suggestion = nearestCommand(typedId, visible)
  const typed = toConfiguredId(typedId, opts.config)
  throw new UsageError(
    `command ${typed} not found${suggestion ? `. Did you mean ${toConfiguredId(suggestion, opts.config)}?` : ''}`,
  )
}

export default commandNotFound
