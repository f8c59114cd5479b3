import { UsageError } from '../../errors.js'
import type { SlotRange } from './types.js'

/** `A-B` within 0-16383 (the --slots flag). */
export function parseSlotRange(value: string): SlotRange {
  const m = /^(\d+)-(\d+)$/.exec(value.trim())
  const from = Number(m?.[1])
  const to = Number(m?.[2])
  if (!m || from > to || to > 16383)
    throw new UsageError(`invalid --slots '${value}': expected A-B within 0-16383, such as 0-8191`)
  return { from, to }
}
