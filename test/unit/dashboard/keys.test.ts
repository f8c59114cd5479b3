import { describe, expect, it } from 'vitest'
import { filterKeyAction, keyAction, keyName, type Key } from '../../../src/dashboard/keys.js'
import { initialViewState } from '../../../src/dashboard/view-state.js'

const named = (name: string) => ({ name })
const typed = (ch: string) => [ch, { name: ch }] as const

describe('keyName', () => {
  it('Ctrl and a name become C-name; otherwise the name, else the character', () => {
    expect(keyName('c', { name: 'c', ctrl: true })).toBe('C-c')
    expect(keyName(undefined, named('pagedown'))).toBe('pagedown')
    expect(keyName('/', {})).toBe('/')
    expect(keyName(undefined, {})).toBe('')
  })
})

describe('keyAction on the table', () => {
  const state = { ...initialViewState(), selectedId: 'n1' }
  const on = (ch: string | undefined, key: Key = {}) => keyAction('normal', state, ch, key)

  it('quits on q and Ctrl-C; ignores return (blessed sends enter after it)', () => {
    expect(on(...typed('q'))).toEqual({ do: 'quit' })
    expect(on('c', { name: 'c', ctrl: true })).toEqual({ do: 'quit' })
    expect(on('\r', named('return'))).toEqual({ do: 'none' })
  })

  it('moves the selection by a row, a page, or to either end', () => {
    expect(on(undefined, named('down'))).toEqual({ do: 'move', by: 1 })
    expect(on(...typed('j'))).toEqual({ do: 'move', by: 1 })
    expect(on(undefined, named('up'))).toEqual({ do: 'move', by: -1 })
    expect(on(...typed('k'))).toEqual({ do: 'move', by: -1 })
    expect(on(undefined, named('pagedown'))).toEqual({ do: 'move', by: 'page-down' })
    expect(on(undefined, named('pageup'))).toEqual({ do: 'move', by: 'page-up' })
    expect(on(...typed('g'))).toEqual({ do: 'move', by: 'home' })
    expect(on(undefined, named('home'))).toEqual({ do: 'move', by: 'home' })
    expect(on('G', { name: 'g', shift: true })).toEqual({ do: 'move', by: 'end' })
    expect(on('G', {})).toEqual({ do: 'move', by: 'end' })
    expect(on(undefined, named('end'))).toEqual({ do: 'move', by: 'end' })
  })

  it('s steps the sort column (numbers descending, shard and address ascending), S reverses it', () => {
    expect(on(...typed('s'))).toEqual({ do: 'view', change: { sort: 'ops', descending: true } })
    expect(keyAction('normal', { ...state, sort: 'clients' }, ...typed('s'))).toEqual({
      do: 'view',
      change: { sort: 'address', descending: false },
    })
    expect(keyAction('normal', { ...state, sort: 'address' }, ...typed('s'))).toEqual({
      do: 'view',
      change: { sort: 'shard', descending: false },
    })
    expect(on('S', {})).toEqual({ do: 'view', change: { descending: true } })
  })

  it('w steps the chart window 1, 5, 15 minutes; c switches the charts between cluster and node', () => {
    expect(on(...typed('w'))).toEqual({ do: 'view', change: { window: 15 } })
    expect(keyAction('normal', { ...state, window: 15 }, ...typed('w'))).toEqual({
      do: 'view',
      change: { window: 1 },
    })
    expect(on(...typed('c'))).toEqual({ do: 'view', change: { chartScope: 'node' } })
  })

  it('Esc clears a filter, and does nothing without one', () => {
    expect(keyAction('normal', { ...state, filter: 'down' }, undefined, named('escape'))).toEqual({
      do: 'view',
      change: { filter: '' },
    })
    expect(on(undefined, named('escape'))).toEqual({ do: 'none' })
  })

  it('opens the filter prompt, the details of the selected node (none without one) and the help', () => {
    expect(on(...typed('/'))).toEqual({ do: 'open-filter' })
    expect(on(undefined, named('enter'))).toEqual({ do: 'open-details' })
    expect(keyAction('normal', initialViewState(), undefined, named('enter'))).toEqual({ do: 'none' })
    expect(on(...typed('?'))).toEqual({ do: 'open-help' })
    expect(on(...typed('p'))).toEqual({ do: 'toggle-pause' })
    expect(on(...typed('x'))).toEqual({ do: 'none' })
  })
})

describe('keyAction in a window', () => {
  const state = initialViewState()

  it('Esc, Enter, ? and q close it; q in the help quits; j/k and the arrows scroll it', () => {
    for (const mode of ['details', 'help'] as const) {
      expect(keyAction(mode, state, undefined, named('escape'))).toEqual({
        do: 'window',
        close: true,
        scroll: 0,
      })
      expect(keyAction(mode, state, undefined, named('enter'))).toEqual({
        do: 'window',
        close: true,
        scroll: 0,
      })
      expect(keyAction(mode, state, ...typed('?'))).toEqual({ do: 'window', close: true, scroll: 0 })
      expect(keyAction(mode, state, ...typed('j'))).toEqual({ do: 'window', close: false, scroll: 1 })
      expect(keyAction(mode, state, undefined, named('up'))).toEqual({
        do: 'window',
        close: false,
        scroll: -1,
      })
      expect(keyAction(mode, state, ...typed('s'))).toEqual({ do: 'window', close: false, scroll: 0 })
    }
    expect(keyAction('details', state, ...typed('q'))).toEqual({ do: 'window', close: true, scroll: 0 })
    expect(keyAction('help', state, ...typed('q'))).toEqual({ do: 'quit' })
  })
})

describe('filterKeyAction', () => {
  it('Enter applies the trimmed draft, Esc cancels, Ctrl-C quits, return is ignored', () => {
    expect(filterKeyAction(' s2 ', undefined, named('enter'))).toEqual({ do: 'apply', filter: 's2' })
    expect(filterKeyAction('s2', undefined, named('escape'))).toEqual({ do: 'cancel' })
    expect(filterKeyAction('s2', 'c', { name: 'c', ctrl: true })).toEqual({ do: 'quit' })
    expect(filterKeyAction('s2', '\r', named('return'))).toEqual({ do: 'none' })
  })

  it('typing edits the draft: printable characters added, backspace and Ctrl-U delete', () => {
    expect(filterKeyAction('s', ...typed('2'))).toEqual({ do: 'edit', draft: 's2' })
    expect(filterKeyAction('s', ' ', named('space'))).toEqual({ do: 'edit', draft: 's ' })
    expect(filterKeyAction('s2', undefined, named('backspace'))).toEqual({ do: 'edit', draft: 's' })
    expect(filterKeyAction('s2', undefined, { name: 'u', ctrl: true })).toEqual({ do: 'edit', draft: '' })
    expect(filterKeyAction('s2', '\t', named('tab'))).toEqual({ do: 'edit', draft: 's2' })
    expect(filterKeyAction('s2', 'a', { name: 'a', ctrl: true })).toEqual({ do: 'edit', draft: 's2' })
  })
})
