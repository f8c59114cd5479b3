import { describe, expect, it } from 'vitest'
import { eventLines, slowlogLines } from '../../../src/dashboard/log-panels.js'
import { slowEntry } from './snapshots.js'

/** 03:04:05 local time, as fmtTime prints it. */
const at = new Date(2026, 0, 2, 3, 4, 5).getTime()

describe('slowlog panel', () => {
  it('time, duration, the command, then the node (what a narrow panel cuts); server text escaped', () => {
    const e = { ...slowEntry(1, ['HGETALL', '{user1}:profile'], '10.0.0.1:6379', 52_300), at }
    expect(slowlogLines([e], 80)).toEqual([
      '03:04:05  52.3ms HGETALL {open}user1{close}:profile  @10.0.0.1:6379',
    ])
    expect(slowlogLines([e], 30)).toEqual(['03:04:05  52.3ms HGETALL {open}use…'])
    expect(slowlogLines([], 30)).toEqual(['(no slow commands)'])
  })
})

describe('alerts panel', () => {
  it('one color per severity; long messages wrap onto indented lines; server text escaped', () => {
    const lines = eventLines(
      [
        {
          type: 'memory-high',
          at,
          severity: 'warning',
          message: '10.0.0.1:6379 uses 93% of maxmemory {big}',
        },
        { type: 'node-down', at, severity: 'critical', message: 'gone' },
        { type: 'x', at, severity: 'other' as 'info', message: 'm' },
      ],
      40,
    )
    expect(lines).toEqual([
      '{yellow-fg}03:04:05 memory-high 10.0.0.1:6379 uses{/yellow-fg}',
      '{yellow-fg}  93% of maxmemory {open}big{close}{/yellow-fg}',
      '{red-fg}03:04:05 node-down gone{/red-fg}',
      '{white-fg}03:04:05 x m{/white-fg}',
    ])
    expect(eventLines([], 40)).toEqual(['(no alerts)'])
  })
})
