import type { TableRow } from './node-table.js'

/**
 * The rows of the nodes table on screen: `height` of them from `scrollTop`, moved just enough to
 * keep the selected row in view (the first row when the selection is gone), that row in reverse video.
 */
export function tableWindow(
  rows: TableRow[],
  selectedId: string | undefined,
  scrollTop: number,
  height: number,
): { selectedId: string | undefined; scrollTop: number; text: string } {
  const found = selectedId ? rows.findIndex((r) => r.id === selectedId) : -1
  const index = found >= 0 ? found : 0
  let top = scrollTop
  if (index < top) top = index
  if (index >= top + height) top = index - height + 1
  top = Math.max(0, Math.min(top, Math.max(0, rows.length - height)))
  const text = rows
    .slice(top, top + height)
    .map((r, i) => (top + i === index ? `{inverse}${r.tagged}{/inverse}` : r.tagged))
    .join('\n')
  return { selectedId: rows[index]?.id, scrollTop: top, text }
}
