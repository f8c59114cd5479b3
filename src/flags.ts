import * as Flags from '@oclif/core/flags'
import type { OptionFlag } from '@oclif/core/interfaces'
import { UsageError } from './errors.js'

/** Bounds of a `seconds()` or `percent()` flag. */
interface DecimalBounds {
  /** Smallest value accepted (default 0). */
  min?: number
  /** Largest value accepted (default: none). */
  max?: number
  /** Refuse 0 even when `min` is 0 (a timeout of nothing makes no sense). */
  positive?: boolean
}

// Plain decimals: no sign, exponent, hex or unit ("5", "0.5", ".5"); Number() alone takes "0x10",
// "1e3" and "" (0), which a person typing a time or a percent never means.
const DECIMAL = /^\d*\.?\d+$|^\d+\.$/

/** Read a decimal typed after a flag (`unit`: "seconds", "a percent"), or refuse it naming the flag (exit 2). */
export function parseDecimal(value: string, flag: string, unit: string, bounds: DecimalBounds = {}): number {
  const text = value.trim()
  const n = Number(text)
  const min = bounds.min ?? 0
  const range =
    bounds.max === undefined
      ? bounds.positive && min === 0
        ? 'more than 0'
        : `${min} or more`
      : `from ${min} to ${bounds.max}`
  const inRange = n >= min && (bounds.max === undefined || n <= bounds.max) && !(bounds.positive && n === 0)
  if (!DECIMAL.test(text) || !Number.isFinite(n) || !inRange) {
    throw new UsageError(
      `invalid --${flag} '${value}': expected ${unit} ${range}, fractions allowed (e.g. 1.5)`,
    )
  }
  return n
}

/** Read a number of seconds as typed after a flag, or refuse it naming the flag (exit 2). */
export function parseSeconds(value: string, flag: string, bounds: DecimalBounds = {}): number {
  return parseDecimal(value, flag, 'seconds', bounds)
}

interface DecimalFlagOptions extends DecimalBounds {
  description: string
  helpGroup?: string
  aliases?: string[]
}

function decimalFlag(unit: string, helpValue: string, options: DecimalFlagOptions & { default?: number }) {
  const { min, max, positive, ...flag } = options
  return Flags.custom<number>({
    ...flag,
    helpValue,
    parse: async (input, _context, opts) => parseDecimal(input, opts.name, unit, { min, max, positive }),
  })()
}

/**
 * A time flag: seconds as a number, fractions allowed, negatives and garbage refused with a message
 * naming the flag (exit 2). A `default` shows in help as `[default: N]`.
 */
export function seconds(options: DecimalFlagOptions & { default: number }): OptionFlag<number>
export function seconds(options: DecimalFlagOptions): OptionFlag<number | undefined>
export function seconds(options: DecimalFlagOptions & { default?: number }): OptionFlag<number | undefined> {
  return decimalFlag('seconds', '<seconds>', options)
}

/** A percent flag (thresholds, limits), fractions allowed, checked like seconds(). */
export function percent(options: DecimalFlagOptions & { default: number }): OptionFlag<number> {
  return decimalFlag('a percent', '<percent>', options) as OptionFlag<number>
}

/** Bounds of a `count()` flag. */
interface CountBounds {
  /** Smallest value accepted (default 0). */
  min?: number
  /** Largest value accepted (default: none). */
  max?: number
}

/** Read a whole number typed after a flag (`unit`: "a count", "shards"), or refuse it naming the flag (exit 2). */
export function parseCount(value: string, flag: string, bounds: CountBounds = {}): number {
  const text = value.trim()
  const n = Number(text)
  const min = bounds.min ?? 0
  const inRange = n >= min && (bounds.max === undefined || n <= bounds.max)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || !inRange) {
    const range = bounds.max === undefined ? `${min} or more` : `from ${min} to ${bounds.max}`
    throw new UsageError(`invalid --${flag} '${value}': expected a whole number ${range}`)
  }
  return n
}

interface CountFlagOptions extends CountBounds {
  description: string
  helpGroup?: string
  aliases?: string[]
}

/**
 * A count flag (keys, commands per second, shards, batch sizes): a whole number within bounds,
 * anything else refused with a message naming the flag and the range (exit 2).
 */
export function count(options: CountFlagOptions & { default: number }): OptionFlag<number>
export function count(options: CountFlagOptions): OptionFlag<number | undefined>
export function count(options: CountFlagOptions & { default?: number }): OptionFlag<number | undefined> {
  const { min, max, ...flag } = options
  return Flags.custom<number>({
    ...flag,
    parse: async (input, _context, opts) => parseCount(input, opts.name, { min, max }),
  })()
}

/** Seconds to whole milliseconds, for the APIs below the flags. */
export function toMs(value: number): number {
  return Math.round(value * 1000)
}

/** `--interval` of the monitoring commands: seconds between polls, 0.1 to 3600 (default 1). */
export function intervalFlag(description: string) {
  return seconds({ description, default: 1, min: 0.1, max: 3600 })
}

/** `--lag-alert`: replication lag in seconds that raises an alert (default 5, the engine's). */
export function lagAlertFlag(description: string) {
  return seconds({ description, default: 5, min: 0.1, max: 3600 })
}

// redis.conf's units: 1k = 1000 and 1kb = 1024 (so with m/mb, g/gb, t/tb), plus KiB/MiB/GiB/TiB.
const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1024,
  kib: 1024,
  m: 1e6,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
}
const BYTE_SIZE = /^(\d*\.?\d+|\d+\.)\s*([a-z]*)$/i

/**
 * A byte size typed after a flag or in the config file: `1048576`, `512kb`, `1MB`, `1.5GiB`, in
 * redis.conf's units (k = 1000, kb = KiB = 1024), or refused naming the flag (exit 2).
 */
export function parseByteSize(value: string, flag: string): number {
  const m = BYTE_SIZE.exec(value.trim())
  const unit = m ? BYTE_UNITS[m[2].toLowerCase()] : undefined
  if (!m || unit === undefined) {
    throw new UsageError(
      `invalid --${flag} '${value}': expected a byte size such as 1048576, 512kb, 1MB or 1.5GiB (k = 1000, kb = KiB = 1024)`,
    )
  }
  return Math.round(Number(m[1]) * unit)
}
