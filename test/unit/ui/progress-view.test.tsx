import { EventEmitter } from 'node:events'
import { render } from 'ink'
import { describe, expect, it } from 'vitest'
import { formatBytes, formatCount, formatDuration } from '../../../src/format/units.js'
import { lagLine, ProgressView, progressBar } from '../../../src/ui/progress-view.js'

class FakeStdout extends EventEmitter {
  columns = 120
  rows = 30
  isTTY = true
  frames: string[] = []
  write(chunk: string): boolean {
    this.frames.push(chunk)
    return true
  }
  get lastFrame(): string {
    const plain = this.frames.map((f) => f.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''))
    return plain.filter((f) => f.trim()).at(-1) ?? ''
  }
}

describe('formatting', () => {
  it('formats counts, bytes and durations for humans', () => {
    expect([formatCount(999), formatCount(12_345), formatCount(2_500_000)]).toEqual(['999', '12.3k', '2.5M'])
    expect([formatBytes(512), formatBytes(1536), formatBytes(5 * 1024 ** 3)]).toEqual([
      '512 B',
      '1.5 KiB',
      '5.0 GiB',
    ])
    expect([formatDuration(42), formatDuration(125), formatDuration(7260), formatDuration(NaN)]).toEqual([
      '42s',
      '2m05s',
      '2h01m',
      '?',
    ])
    expect(progressBar(5, 10, 10)).toBe('█████░░░░░')
  })
})

describe('ProgressView', () => {
  it('renders one line per task with counts, rate, ETA and errors, the phase and warnings', () => {
    const stdout = new FakeStdout()
    const app = render(
      <ProgressView
        title="migrate"
        phase="bulk copy"
        tasks={[
          {
            type: 'progress',
            task: '127.0.0.1:7000',
            done: 5000,
            total: 10000,
            unit: 'keys',
            rate: 2500,
            etaSeconds: 2,
            errors: 3,
          },
          { type: 'progress', task: '127.0.0.1:7001', done: 10000, total: 10000, unit: 'keys', rate: 0 },
        ]}
        warnings={['source latency high, backing off']}
      />,
      { stdout: stdout as unknown as NodeJS.WriteStream, patchConsole: false },
    )
    app.unmount()
    const frame = stdout.lastFrame
    expect(frame).toContain('migrate')
    expect(frame).toContain('bulk copy')
    expect(frame).toMatch(/127\.0\.0\.1:7000\s+█{12}░{12} 5000\/10\.0k keys\s+2500 keys\/s ETA 2s 3 errors/)
    expect(frame).toMatch(/127\.0\.0\.1:7001\s+█{24} 10\.0k\/10\.0k keys/)
    expect(frame).toContain('! source latency high, backing off')
  })

  it('a pass over a file counts bytes: shown in MiB, its rate in MiB/s', () => {
    const stdout = new FakeStdout()
    const app = render(
      <ProgressView
        tasks={[
          {
            type: 'progress',
            task: 'verify',
            done: 23 * 2 ** 20,
            total: 46 * 2 ** 20,
            unit: 'bytes',
            rate: 200 * 2 ** 20,
          },
        ]}
        warnings={[]}
      />,
      { stdout: stdout as unknown as NodeJS.WriteStream, patchConsole: false },
    )
    app.unmount()
    expect(stdout.lastFrame).toMatch(/verify\s+█{12}░{12} 23\.0 MiB\/46\.0 MiB\s+200\.0 MiB\/s/)
  })

  it("shows a following operation's lag: pending changes and the oldest one's age, or in sync", () => {
    expect(lagLine({ pending: 1200, oldestAgeMs: 2500, inSync: false })).toBe(
      'live: 1200 changes pending, oldest 3s',
    )
    expect(lagLine({ pending: 0, oldestAgeMs: 0, inSync: true })).toBe('live: in sync, no change pending')
    expect(lagLine({ pending: 0, oldestAgeMs: 0, inSync: false })).toBe('live: no change pending')
    const stdout = new FakeStdout()
    const app = render(
      <ProgressView tasks={[]} warnings={[]} lag={{ pending: 7, oldestAgeMs: 400, inSync: false }} />,
      { stdout: stdout as unknown as NodeJS.WriteStream, patchConsole: false },
    )
    app.unmount()
    expect(stdout.lastFrame).toContain('live: 7 changes pending, oldest 0s')
  })
})
