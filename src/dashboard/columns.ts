import { truncate } from '../metrics/format.js'

/** Columns of fixed width that drop out by priority when the screen is narrow (the nodes and fleet tables). */

/** A column of rows of type `Row`, whose cells may also be given `extra` (a node's flags, a deployment's snapshot). */
export interface Column<Row, Extra> {
  title: string
  width: number
  align: 'left' | 'right'
  /** Lower comes first when the table is too narrow for every column. */
  priority?: number
  cell: (row: Row, extra: Extra) => string
}

export function fit(text: string, width: number, align: 'left' | 'right'): string {
  const t = text.length > width ? truncate(text, width) : text
  return align === 'right' ? t.padStart(width) : t.padEnd(width)
}

/**
 * Columns that fit in `width` characters: taken by priority (in order where none is given), each
 * one that fits added, shown in their own order.
 */
export function visibleColumns<C extends { width: number; priority?: number }>(
  width: number,
  columns: C[],
): C[] {
  const ranked = columns
    .map((c, i) => ({ c, i, rank: c.priority ?? i }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
  const chosen = new Set<number>()
  let used = 0
  for (const { c, i } of ranked) {
    const need = c.width + (chosen.size ? 1 : 0)
    if (used + need > width) {
      // Without a priority the columns are one ordered list: the first that does not fit ends it.
      if (c.priority === undefined) break
      continue
    }
    used += need
    chosen.add(i)
  }
  return columns.filter((_, i) => chosen.has(i))
}
