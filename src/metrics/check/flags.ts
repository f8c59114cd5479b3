import * as Flags from '@oclif/core/flags'
import { formatBytes } from '../../format/units.js'
import { CHECK_NAMES, DEFAULT_LEVELS, parseLevels, type CheckName, type Levels } from './levels.js'

const WHAT: Record<CheckName, string> = {
  'lag-bytes': 'Replication lag of a replica in bytes (1048576, 512kb, 1MB: k = 1000, kb = KiB = 1024)',
  'lag-seconds': 'Replication lag of a replica in seconds, fractions allowed',
  memory: 'Memory of a node in percent of its maxmemory',
  evictions: 'Keys evicted per second by a node over the interval',
  slowlog: 'New slowlog entries per second on a node over the interval',
  'nodes-down': 'Nodes not answering (or marked failed by the cluster)',
}

function shownDefault(check: CheckName): string {
  const { warning, critical } = DEFAULT_LEVELS[check]
  if (warning === undefined && critical === undefined) return 'off'
  const show = (n: number | undefined) =>
    n === undefined ? '' : check === 'lag-bytes' ? formatBytes(n).replace(/ /g, '') : String(n)
  return `${show(warning)}:${show(critical)}`
}

/** `--CHECK WARN:CRIT`: a level pair checked when parsed (exit 2 naming the flag). */
function levelsFlag(check: CheckName) {
  return Flags.custom<Levels>({
    description: `${WHAT[check]}: WARN:CRIT, WARN, :CRIT or off (default ${shownDefault(check)})`,
    helpValue: '<warn:crit>',
    helpGroup: 'THRESHOLDS',
    parse: async (input) => parseLevels(input, check),
  })()
}

/** One `--CHECK` flag per check. */
export const checkLevelFlags = Object.fromEntries(CHECK_NAMES.map((c) => [c, levelsFlag(c)])) as Record<
  CheckName,
  ReturnType<typeof levelsFlag>
>
