import { CHART_WINDOWS } from './chart-window.js'
import { SORT_KEYS, type ViewState } from './view-state.js'

/**
 * What a key press means on the dashboard, decided without blessed: the dashboard applies the
 * action (moves the selection, redraws, opens a window). The keys are listed for users in help.ts.
 */

/** A key as blessed reports it. */
export interface Key {
  name?: string
  full?: string
  ctrl?: boolean
  shift?: boolean
}

/** What the screen is showing: the table, the filter prompt, or a window over the table. */
export type Mode = 'normal' | 'filter' | 'details' | 'help'

/** A selection move: rows (negative up), a page either way, or to the first or last row. */
export type Move = number | 'page-down' | 'page-up' | 'home' | 'end'

export type KeyAction =
  | { do: 'none' }
  | { do: 'quit' }
  | { do: 'move'; by: Move }
  /** Change what the view shows (sort, window, filter...) and redraw. */
  | { do: 'view'; change: Partial<ViewState> }
  | { do: 'toggle-pause' }
  | { do: 'open-filter' }
  | { do: 'open-details' }
  | { do: 'open-help' }
  /** In a window: close it or scroll it, then render. */
  | { do: 'window'; close: boolean; scroll: number }

/** Key name: blessed reports Enter twice ('return' then 'enter'); only 'enter' is acted on. */
export function keyName(ch: string | undefined, key: Key): string {
  if (key.ctrl && key.name) return `C-${key.name}`
  return key.name ?? ch ?? ''
}

/** The action of a key in every mode but the filter prompt (see filterKeyAction). */
export function keyAction(
  mode: Exclude<Mode, 'filter'>,
  state: ViewState,
  ch: string | undefined,
  key: Key,
): KeyAction {
  const full = keyName(ch, key)
  if (full === 'return') return { do: 'none' }
  if (full === 'C-c') return { do: 'quit' }
  if (mode === 'details' || mode === 'help') return windowKeyAction(mode, full, ch)
  const down = full === 'down' || ch === 'j'
  const up = full === 'up' || ch === 'k'
  if (ch === 'q') return { do: 'quit' }
  if (down || up) return { do: 'move', by: down ? 1 : -1 }
  if (full === 'pagedown' || full === 'pageup')
    return { do: 'move', by: full === 'pagedown' ? 'page-down' : 'page-up' }
  if (full === 'home' || ch === 'g') return { do: 'move', by: 'home' }
  if (full === 'end' || ch === 'G') return { do: 'move', by: 'end' }
  if (ch === '/') return { do: 'open-filter' }
  if (ch === 'p') return { do: 'toggle-pause' }
  if (full === 'enter') return state.selectedId ? { do: 'open-details' } : { do: 'none' }
  if (ch === '?') return { do: 'open-help' }
  const change = viewChange(state, full, ch)
  return change ? { do: 'view', change } : { do: 'none' }
}

/** Keys that change what the table and charts show. */
function viewChange(state: ViewState, full: string, ch: string | undefined): Partial<ViewState> | undefined {
  if (ch === 's') {
    const sort = SORT_KEYS[(SORT_KEYS.indexOf(state.sort) + 1) % SORT_KEYS.length]
    return { sort, descending: sort !== 'shard' && sort !== 'address' }
  }
  if (ch === 'S') return { descending: !state.descending }
  // Esc clears a filter; without one there is nothing to redraw.
  if (full === 'escape') return state.filter ? { filter: '' } : undefined
  if (ch === 'w')
    return { window: CHART_WINDOWS[(CHART_WINDOWS.indexOf(state.window) + 1) % CHART_WINDOWS.length] }
  if (ch === 'c') return { chartScope: state.chartScope === 'cluster' ? 'node' : 'cluster' }
  return undefined
}

/** In the details or help window: Esc, Enter, ? or q close it (q in help quits), j/k scroll it. */
function windowKeyAction(mode: 'details' | 'help', full: string, ch: string | undefined): KeyAction {
  if (full === 'escape' || full === 'enter' || ch === '?' || ch === 'q') {
    if (ch === 'q' && mode === 'help') return { do: 'quit' }
    return { do: 'window', close: true, scroll: 0 }
  }
  const scroll = full === 'down' || ch === 'j' ? 1 : full === 'up' || ch === 'k' ? -1 : 0
  return { do: 'window', close: false, scroll }
}

type FilterKeyAction =
  | { do: 'none' }
  | { do: 'quit' }
  | { do: 'apply'; filter: string }
  | { do: 'cancel' }
  | { do: 'edit'; draft: string }

/** A key at the filter prompt: Enter applies the draft, Esc cancels, the rest edit it. */
export function filterKeyAction(draft: string, ch: string | undefined, key: Key): FilterKeyAction {
  const full = keyName(ch, key)
  if (full === 'return') return { do: 'none' }
  if (full === 'C-c') return { do: 'quit' }
  if (full === 'enter') return { do: 'apply', filter: draft.trim() }
  if (full === 'escape') return { do: 'cancel' }
  if (full === 'backspace') return { do: 'edit', draft: draft.slice(0, -1) }
  if (full === 'C-u') return { do: 'edit', draft: '' }
  if (ch && ch.length === 1 && ch >= ' ' && !key.ctrl) return { do: 'edit', draft: draft + ch }
  return { do: 'edit', draft }
}
