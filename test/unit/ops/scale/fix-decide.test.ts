import { describe, expect, it } from 'vitest'
import { decideSlot, isOpen, type SlotNodeState, type SlotSituation } from '../../../../src/ops/scale/fix.js'

function node(id: string, extra: Partial<SlotNodeState> = {}): SlotNodeState {
  return {
    id,
    address: `127.0.0.1:${7000 + id.charCodeAt(0) - 97}`,
    primary: true,
    reachable: true,
    failed: false,
    keys: 0,
    slotsOwned: 5000,
    ...extra,
  }
}

function situation(owner: string | undefined, nodes: SlotNodeState[]): SlotSituation {
  return { slot: 42, ...(owner ? { owner } : {}), nodes }
}

describe('scale --fix decisions', () => {
  it('a settled slot is not open', () => {
    expect(isOpen(situation('a', [node('a', { keys: 5 }), node('b')]))).toBe(false)
  })

  it('finishes an interrupted move when the target answers', () => {
    const s = situation('a', [
      node('a', { keys: 10, migratingTo: 'b' }),
      node('b', { keys: 3, importingFrom: 'a' }),
    ])
    expect(isOpen(s)).toBe(true)
    expect(decideSlot(s)).toMatchObject({ action: 'finish', from: 'a', to: 'b' })
  })

  it('finishes even when the target lost its importing state (restart)', () => {
    const s = situation('a', [node('a', { migratingTo: 'b', keys: 1 }), node('b', { keys: 4 })])
    expect(decideSlot(s)).toMatchObject({ action: 'finish', from: 'a', to: 'b' })
  })

  it('clears a migrating state whose target already took the slot', () => {
    const s = situation('b', [node('a', { migratingTo: 'b' }), node('b', { keys: 9 })])
    expect(decideSlot(s)).toMatchObject({ action: 'clear', to: 'b' })
  })

  it('finishes on the node that took over a failed target (it holds the moved keys)', () => {
    const s = situation('a', [
      node('a', { migratingTo: 'b', keys: 2 }),
      node('b', { failed: true, reachable: false }),
      node('c', { keys: 7 }),
    ])
    expect(decideSlot(s)).toMatchObject({ action: 'finish', from: 'a', to: 'c' })
  })

  it('rolls back when the failed target left nothing behind', () => {
    const s = situation('a', [
      node('a', { migratingTo: 'b', keys: 2 }),
      node('b', { failed: true, reachable: false }),
    ])
    const d = decideSlot(s)
    expect(d).toMatchObject({ action: 'rollback', to: 'a' })
    expect(d.reason).toMatch(/not reachable/)
  })

  it('waits (blocked) while the target is unreachable but not failed', () => {
    const s = situation('a', [node('a', { migratingTo: 'b' }), node('b', { reachable: false })])
    expect(decideSlot(s).action).toBe('blocked')
  })

  it('is blocked while the owner is down', () => {
    const s = situation('a', [
      node('a', { failed: true, reachable: false }),
      node('b', { importingFrom: 'a' }),
    ])
    expect(decideSlot(s).action).toBe('blocked')
  })

  it('rolls keys on a non-owner back to the owner', () => {
    const s = situation('a', [node('a', { keys: 1 }), node('b', { keys: 3, importingFrom: 'a' })])
    expect(decideSlot(s)).toMatchObject({ action: 'rollback', to: 'a' })
  })

  it('assigns an uncovered slot to the node holding its keys, else to the one with fewest slots', () => {
    expect(decideSlot(situation(undefined, [node('a'), node('b', { keys: 2 })]))).toMatchObject({
      action: 'assign',
      to: 'b',
    })
    expect(
      decideSlot(situation(undefined, [node('a', { slotsOwned: 9000 }), node('b', { slotsOwned: 100 })])),
    ).toMatchObject({ action: 'assign', to: 'b' })
  })
})
