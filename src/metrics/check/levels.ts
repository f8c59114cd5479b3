import { UsageError } from '../../errors.js'
import { DEFAULT_THRESHOLDS } from '../alerts.js'
import { parseByteSize, parseDecimal } from '../../flags.js'

/**
 * Warning and critical levels of one check. A level is broken when the measured value is above it
 * (Nagios' convention: `--memory 80:95` warns above 80%); an absent level is never broken.
 */
export interface Levels {
  warning?: number
  critical?: number
}

/** What `kvtop check` measures; each takes a `WARN:CRIT` pair (README: kvtop check). */
export type CheckName = 'lag-bytes' | 'lag-seconds' | 'memory' | 'evictions' | 'slowlog' | 'nodes-down'

export const CHECK_NAMES: readonly CheckName[] = [
  'lag-bytes',
  'lag-seconds',
  'memory',
  'evictions',
  'slowlog',
  'nodes-down',
]

/** The levels of every check; a check set to `off` (or with neither level) is not evaluated. */
export type CheckLevels = Record<CheckName, Levels>

/**
 * Without flags or config: the monitor's own alert thresholds (DEFAULT_THRESHOLDS) are the warning
 * levels, so `check` warns where `top` raises an alert; any node down or eviction counts.
 */
export const DEFAULT_LEVELS: CheckLevels = {
  'lag-bytes': { warning: DEFAULT_THRESHOLDS.lagBytes, critical: 64 * 1024 * 1024 },
  'lag-seconds': { warning: DEFAULT_THRESHOLDS.lagSeconds, critical: 30 },
  memory: { warning: DEFAULT_THRESHOLDS.memoryFraction * 100, critical: 95 },
  evictions: { warning: 0 },
  slowlog: {},
  'nodes-down': { critical: 0 },
}

/** How each check's figures are typed: the parser of one level and the unit they are shown in. */
const CHECK_UNITS: Record<CheckName, { parse: (text: string, flag: string) => number; unit: string }> = {
  'lag-bytes': { parse: parseByteSize, unit: 'bytes' },
  'lag-seconds': { parse: (t, f) => parseDecimal(t, f, 'seconds'), unit: 'seconds' },
  memory: { parse: (t, f) => parseDecimal(t, f, 'a percent', { max: 100 }), unit: 'percent' },
  evictions: { parse: (t, f) => parseDecimal(t, f, 'evictions per second'), unit: 'per second' },
  slowlog: { parse: (t, f) => parseDecimal(t, f, 'slowlog entries per second'), unit: 'per second' },
  'nodes-down': { parse: (t, f) => parseDecimal(t, f, 'nodes', { max: 100000 }), unit: 'nodes' },
}

/**
 * `WARN:CRIT`, `WARN` or `WARN:` (warning only), `:CRIT` (critical only), or `off`. A critical level
 * below the warning one is refused: it would hide the warning.
 */
export function parseLevels(text: string, check: CheckName, source = `--${check}`): Levels {
  const trimmed = text.trim()
  if (trimmed.toLowerCase() === 'off') return {}
  const parts = trimmed.split(':')
  const flag = source.replace(/^--/, '')
  if (parts.length > 2 || parts.every((p) => p.trim() === '')) {
    throw new UsageError(`invalid ${source} '${text}': expected WARN:CRIT, WARN, :CRIT or off`)
  }
  const parse = CHECK_UNITS[check].parse
  const [warn, crit] = parts.map((p) => (p.trim() === '' ? undefined : parse(p.trim(), flag)))
  if (warn !== undefined && crit !== undefined && crit < warn) {
    throw new UsageError(`invalid ${source} '${text}': the critical level is below the warning level`)
  }
  return {
    ...(warn !== undefined ? { warning: warn } : {}),
    ...(crit !== undefined ? { critical: crit } : {}),
  }
}

/** Which level a value breaks, the critical one first; undefined when none. */
export function brokenLevel(value: number, levels: Levels): 'critical' | 'warning' | undefined {
  if (levels.critical !== undefined && value > levels.critical) return 'critical'
  if (levels.warning !== undefined && value > levels.warning) return 'warning'
  return undefined
}

export function isChecked(levels: Levels): boolean {
  return levels.warning !== undefined || levels.critical !== undefined
}
