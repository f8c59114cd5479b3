import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createHeartbeatReporter,
  heartbeatIntervalMs,
  heartbeatLine,
} from '../../../src/ui/heartbeat-reporter.js'

// ink's chalk decides its colour level when first imported: force colours so that "no colour" is
// the view's doing, not the test terminal's.
process.env.FORCE_COLOR = '3'

describe('heartbeat reporter', () => {
  afterEach(() => vi.useRealTimers())

  it('reads the interval from KVTOP_PROGRESS_INTERVAL (seconds, fractions), 5 s otherwise', () => {
    expect(heartbeatIntervalMs({})).toBe(5000)
    expect(heartbeatIntervalMs({ KVTOP_PROGRESS_INTERVAL: '0.25' })).toBe(250)
    expect(heartbeatIntervalMs({ KVTOP_PROGRESS_INTERVAL: '0' })).toBe(5000)
    expect(heartbeatIntervalMs({ KVTOP_PROGRESS_INTERVAL: 'soon' })).toBe(5000)
  })

  it('formats counts, percentage, bytes, rate, ETA, errors, phase and live lag', () => {
    const copy = {
      type: 'progress' as const,
      task: '127.0.0.1:7000',
      done: 1200,
      total: 4800,
      unit: 'keys',
      bytes: 1536,
      rate: 400.4,
      errors: 2,
    }
    expect(heartbeatLine('migrate', [copy], 3, 'copy: 1 source node')).toBe(
      'migrate: 127.0.0.1:7000 1200/4800 keys (25.0%), 1.5 KiB, 400 keys/s, ETA 9s, 2 errors | elapsed 3s | phase copy: 1 source node',
    )
    expect(
      heartbeatLine(
        'replay x.log',
        [{ type: 'progress', task: 'replay', done: 7, unit: 'commands' }],
        65,
        undefined,
        {
          pending: 12,
          oldestAgeMs: 2000,
          inSync: false,
        },
      ),
    ).toBe(
      'replay x.log: replay 7 commands, 0 commands/s | elapsed 1m05s | live: 12 changes pending, oldest 2s',
    )
  })

  it('a pass over a file counts bytes: in MiB, its rate in MiB/s', () => {
    const verify = { type: 'progress' as const, task: 'verify', unit: 'bytes', rate: 200 * 2 ** 20 }
    expect(
      heartbeatLine(
        'snapshot restore',
        [{ ...verify, done: 46_024_265, total: 46_024_265, etaSeconds: 0 }],
        1,
      ),
    ).toBe('snapshot restore: verify 43.9 MiB/43.9 MiB (100.0%), 200.0 MiB/s, ETA 0s | elapsed 1s')
    expect(heartbeatLine(undefined, [{ ...verify, done: 512 }], 1)).toBe(
      'verify 512 B, 200.0 MiB/s | elapsed 1s',
    )
  })

  it('a task that totals the others stands for them; more than three tasks are summed per unit', () => {
    const shard = (i: number, done: number) => ({
      type: 'progress' as const,
      task: `127.0.0.1:700${i}`,
      done,
      total: 100,
      unit: 'keys',
      rate: 10,
    })
    const whole = {
      type: 'progress' as const,
      task: 'snapshot',
      done: 90,
      total: 300,
      unit: 'keys',
      rate: 30,
      overall: true as const,
    }
    expect(heartbeatLine('snapshot create', [shard(0, 30), shard(1, 30), shard(2, 30), whole], 1)).toBe(
      'snapshot create: snapshot 90/300 keys (30.0%), 30 keys/s, ETA 7s | elapsed 1s',
    )
    // A standalone source: the node and the whole are the same figure, the whole stands for it.
    expect(
      heartbeatLine('snapshot create', [shard(0, 30), { ...whole, done: 30, total: 100, rate: 10 }], 1),
    ).toBe('snapshot create: snapshot 30/100 keys (30.0%), 10 keys/s, ETA 7s | elapsed 1s')
    // verify's two directions over the same keys: equal totals, neither the sum of the other.
    const direction = (task: string, done: number) => ({
      ...shard(0, done),
      task,
      total: 200000,
      rate: 80000,
    })
    expect(
      heartbeatLine(
        'verify',
        [direction('source -> target', 200000), direction('target -> source', 150000)],
        3,
      ),
    ).toBe(
      'verify: source -> target 200000/200000 keys (100.0%), 80000 keys/s, ETA 0s; target -> source 150000/200000 keys (75.0%), 80000 keys/s, ETA 1s | elapsed 3s',
    )
    expect(
      heartbeatLine(
        'migrate',
        [0, 1, 2, 3].map((i) => shard(i, 50)),
        1,
      ),
    ).toBe('migrate: 4 tasks 200/400 keys (50.0%), 40 keys/s, ETA 5s | elapsed 1s')
    // A copy's nodes then the final verify's two directions: the copy summed apart, each direction
    // named (summed together they read 150000/150000 keys for 50,000 keys).
    const copy = (i: number) => ({ ...shard(i, 0), done: 16_667, total: 16_667, rate: 5000, group: 'copy' })
    const halfCompared = (task: string) => ({
      ...shard(0, 0),
      task,
      done: 25_000,
      total: 50_000,
      rate: 25_000,
    })
    expect(
      heartbeatLine(
        'migrate',
        [copy(0), copy(1), copy(2), halfCompared('source -> target'), halfCompared('target -> source')],
        4,
      ),
    ).toBe(
      'migrate: copy (3 tasks) 50001/50001 keys (100.0%), 15000 keys/s, ETA 0s; source -> target 25000/50000 keys (50.0%), 25000 keys/s, ETA 1s; target -> source 25000/50000 keys (50.0%), 25000 keys/s, ETA 1s | elapsed 4s',
    )
  })

  it('writes phases and warnings at once, progress once per interval when it moved, and a last line at the end', () => {
    vi.useFakeTimers()
    let now = 0
    const lines: string[] = []
    const r = createHeartbeatReporter('verify', {
      intervalMs: 1000,
      write: (l) => lines.push(l),
      now: () => now,
    })
    r.onEvent({ type: 'phase', phase: 'compare', detail: '10 source keys' })
    r.onEvent({ type: 'warning', message: 'slow node' })
    expect(lines).toEqual(['verify: phase compare: 10 source keys', 'Warning: slow node'])
    r.onEvent({ type: 'progress', task: 'compare', done: 4, total: 10, unit: 'keys', rate: 2 })
    now = 2000
    vi.advanceTimersByTime(1000)
    expect(lines.slice(2)).toEqual([
      'verify: compare 4/10 keys (40.0%), 2 keys/s, ETA 3s | elapsed 2s | phase compare: 10 source keys',
    ])
    // Nothing new: no line.
    vi.advanceTimersByTime(3000)
    expect(lines).toHaveLength(3)
    r.onEvent({ type: 'progress', task: 'compare', done: 10, total: 10, unit: 'keys', rate: 3 })
    now = 5000
    r.finish()
    expect(lines.slice(3)).toEqual([
      'verify: compare 10/10 keys (100.0%), 3 keys/s, ETA 0s | elapsed 5s | phase compare: 10 source keys',
    ])
    vi.advanceTimersByTime(5000)
    expect(lines).toHaveLength(4)
  })

  it('redacts secrets in what it writes', async () => {
    const { registerSecret } = await import('../../../src/redact.js')
    registerSecret('hunter2-secret')
    const lines: string[] = []
    const r = createHeartbeatReporter('t', { intervalMs: 1000, write: (l) => lines.push(l) })
    r.onEvent({ type: 'phase', phase: 'connect', detail: 'redis://u:hunter2-secret@h:1' })
    r.finish()
    expect(lines.join('\n')).not.toContain('hunter2-secret')
  })
})
