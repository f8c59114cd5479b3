import { describe, expect, it } from 'vitest'
import type { TableRow } from '../../../src/dashboard/node-table.js'
import { tableWindow } from '../../../src/dashboard/table-window.js'

const rows: TableRow[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({
  id,
  text: id,
  tagged: `{red-fg}${id}{/red-fg}`,
  flags: { down: false, lagging: false, hot: false },
}))

describe('tableWindow', () => {
  it('shows `height` rows from the top, the selected one in reverse video', () => {
    expect(tableWindow(rows, 'b', 0, 3)).toEqual({
      selectedId: 'b',
      scrollTop: 0,
      text: '{red-fg}a{/red-fg}\n{inverse}{red-fg}b{/red-fg}{/inverse}\n{red-fg}c{/red-fg}',
    })
  })

  it('scrolls just enough to keep the selection in view, down and up', () => {
    expect(tableWindow(rows, 'e', 0, 3)).toMatchObject({ selectedId: 'e', scrollTop: 2 })
    expect(tableWindow(rows, 'b', 3, 3)).toMatchObject({ selectedId: 'b', scrollTop: 1 })
  })

  it('a selection that is gone falls back to the first row; the window never passes the end', () => {
    expect(tableWindow(rows, 'zz', 0, 2)).toMatchObject({ selectedId: 'a', scrollTop: 0 })
    expect(tableWindow(rows, undefined, 0, 2).text).toBe(
      '{inverse}{red-fg}a{/red-fg}{/inverse}\n{red-fg}b{/red-fg}',
    )
    expect(tableWindow(rows, 'c', 5, 4)).toMatchObject({ scrollTop: 2 })
    expect(tableWindow(rows.slice(0, 2), 'a', 1, 10)).toMatchObject({ scrollTop: 0 })
    expect(tableWindow([], undefined, 3, 5)).toEqual({ selectedId: undefined, scrollTop: 0, text: '' })
  })
})
