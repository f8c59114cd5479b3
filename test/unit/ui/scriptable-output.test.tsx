import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { stripColour } from '../../../src/dashboard/monochrome.js'
import { Dashboard } from '../../../src/dashboard/dashboard.js'
import { DEFAULT_THRESHOLDS } from '../../../src/metrics/alerts.js'
import { csvCell, statusCsvHeader, statusCsvRows } from '../../../src/metrics/csv.js'
import {
  createHeartbeatReporter,
  heartbeatIntervalMs,
  heartbeatLine,
} from '../../../src/ui/heartbeat-reporter.js'
import { outputModeFrom, setOutputMode } from '../../../src/ui/output-mode.js'
import { reporterMode } from '../../../src/ui/reporter.js'
import { clusterSnapshot, event, historyFor } from '../dashboard/snapshots.js'
import { FakeTerminal } from '../dashboard/terminal.js'

// ink's chalk decides its colour level when first imported: force colours so that "no colour" is
// the view's doing, not the test terminal's.
process.env.FORCE_COLOR = '3'

/** Any SGR sequence that sets a foreground or background colour. */
const COLOUR_SGR = /\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m/

describe('output mode: NO_COLOR, --no-color, TERM=dumb, --quiet', () => {
  it.each([
    [[], {}, { color: true, dumb: false, quiet: false }],
    [[], { NO_COLOR: '1' }, { color: false, dumb: false, quiet: false }],
    [[], { NO_COLOR: '0' }, { color: false, dumb: false, quiet: false }],
    [[], { NO_COLOR: '' }, { color: true, dumb: false, quiet: false }],
    [['--no-color'], {}, { color: false, dumb: false, quiet: false }],
    [['--', '--no-color'], {}, { color: true, dumb: false, quiet: false }],
    [[], { TERM: 'dumb' }, { color: false, dumb: true, quiet: false }],
    [['--quiet'], { TERM: 'xterm' }, { color: true, dumb: false, quiet: true }],
  ])('argv %j env %j -> %j', (argv, env, mode) => {
    expect(outputModeFrom(argv, env)).toEqual(mode)
  })

  it('picks the reporter: NDJSON with --json, nothing with --quiet, ink on a terminal, heartbeat otherwise', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream
    const pipe = { isTTY: false } as NodeJS.WriteStream
    try {
      setOutputMode(outputModeFrom([], { TERM: 'xterm' }))
      expect([reporterMode(true, tty), reporterMode(false, tty), reporterMode(false, pipe)]).toEqual([
        'json',
        'tty',
        'log',
      ])
      setOutputMode(outputModeFrom([], { TERM: 'dumb' }))
      expect(reporterMode(false, tty)).toBe('log')
      setOutputMode(outputModeFrom(['--quiet'], {}))
      expect([reporterMode(false, tty), reporterMode(false, pipe), reporterMode(true, pipe)]).toEqual([
        'quiet',
        'quiet',
        'json',
      ])
      // Libraries that colour on their own are told too.
      expect(process.env.FORCE_COLOR).toBe('0')
    } finally {
      setOutputMode(outputModeFrom([], {}))
      process.env.FORCE_COLOR = '3'
    }
  })
})

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
    }
    expect(heartbeatLine('snapshot create', [shard(0, 30), shard(1, 30), shard(2, 30), whole], 1)).toBe(
      'snapshot create: snapshot 90/300 keys (30.0%), 30 keys/s, ETA 7s | elapsed 1s',
    )
    expect(
      heartbeatLine(
        'migrate',
        [0, 1, 2, 3].map((i) => shard(i, 50)),
        1,
      ),
    ).toBe('migrate: 4 tasks 200/400 keys (50.0%), 40 keys/s, ETA 5s | elapsed 1s')
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

describe('colour off', () => {
  class FakeStderr extends EventEmitter {
    columns = 120
    rows = 30
    isTTY = true
    written = ''
    write(chunk: string): boolean {
      this.written += chunk
      return true
    }
  }

  it('the ink progress view: colour attributes with colour, none without; same text', async () => {
    const { render } = await import('ink')
    const { ProgressView } = await import('../../../src/ui/progress-view.js')
    const view = (color: boolean) => (
      <ProgressView
        title="migrate"
        phase="copy"
        tasks={[{ type: 'progress', task: 's0', done: 5, total: 10, unit: 'keys', rate: 1, errors: 1 }]}
        warnings={['careful']}
        lag={{ pending: 3, oldestAgeMs: 1000, inSync: false }}
        color={color}
      />
    )
    const draw = (color: boolean) => {
      const out = new FakeStderr()
      const app = render(view(color), { stdout: out as unknown as NodeJS.WriteStream, patchConsole: false })
      app.unmount()
      return out.written
    }
    const coloured = draw(true)
    const plain = draw(false)
    expect(coloured).toMatch(COLOUR_SGR)
    expect(plain).not.toMatch(COLOUR_SGR)
    expect(plain).toContain('! careful')
    expect(plain).toContain('1 errors')
  })

  it('stripColour drops colour parameters, keeps bold, inverse and resets', () => {
    expect(stripColour('\x1b[1;31mA\x1b[0m')).toBe('\x1b[1mA\x1b[0m')
    expect(stripColour('\x1b[38;5;196mB\x1b[39m')).toBe('B')
    expect(stripColour('\x1b[48;2;1;2;3;7mC\x1b[m')).toBe('\x1b[7mC\x1b[m')
    expect(stripColour('\x1b[92;104mD\x1b[2J\x1b[H')).toBe('D\x1b[2J\x1b[H')
  })

  it('the top dashboard: no colour escape sequences with color false, some with colour', async () => {
    // One snapshot for both frames: its event's time is part of what is drawn.
    const s = clusterSnapshot(3, 1, (n, i) => {
      if (i === 3) Object.assign(n, { up: false, state: 'down', error: 'connect ECONNREFUSED' })
    })
    s.events = [event('node-down', 'replica 127.0.0.1:7003 (shard 1) is down')]
    const draw = async (color: boolean) => {
      const term = new FakeTerminal(160, 48)
      const d = new Dashboard({
        input: term.input,
        output: term.output,
        terminal: 'xterm-256color',
        thresholds: DEFAULT_THRESHOLDS,
        onQuit: () => {},
        color,
      })
      try {
        d.update(s, historyFor(s), [])
        await new Promise((r) => setTimeout(r, 30))
        return { written: term.written, text: d.screenText().join('\n') }
      } finally {
        d.destroy()
      }
    }
    const coloured = await draw(true)
    const plain = await draw(false)
    expect(coloured.written).toMatch(COLOUR_SGR)
    expect(plain.written).not.toMatch(COLOUR_SGR)
    // The same content, colour aside (the header's clock may have moved between the two frames).
    const rows = (text: string) => text.split('\n').filter((l) => l.includes('127.0.0.1:'))
    expect(rows(plain.text)).toEqual(rows(coloured.text))
    expect(plain.text).toMatch(/127\.0\.0\.1:7003 +replica +1 down/)
  })
})

describe('status CSV', () => {
  it('quotes cells per RFC 4180 and leaves unknown figures empty', () => {
    expect([csvCell(undefined), csvCell(3), csvCell(0.123456), csvCell('a,b'), csvCell('say "hi"')]).toEqual([
      '',
      '3',
      '0.1235',
      '"a,b"',
      '"say ""hi"""',
    ])
  })

  it('one row per node, as many cells as the header', () => {
    const s = clusterSnapshot(2, 1)
    const rows = statusCsvRows(s)
    expect(rows).toHaveLength(s.nodes.length)
    const header = statusCsvHeader().split(',')
    expect(header.slice(0, 6)).toEqual(['at', 'round', 'node', 'role', 'shard', 'up'])
    for (const row of rows) expect(row.split(',')).toHaveLength(header.length)
    expect(rows[0].split(',').slice(1, 4)).toEqual([String(s.round), s.nodes[0].address, s.nodes[0].role])
  })
})

describe('BaseCommand under --json: every stderr line an event', () => {
  it('warn() and diag() write {type: "warning" | "notice", at, message}; text without --json', async () => {
    const { Config, settings } = await import('@oclif/core')
    // The built commands, as the binary loads them (no transpiling of the sources).
    settings.enableAutoTranspile = false
    const { BaseCommand } = await import('../../../src/base-command.js')
    class Talker extends BaseCommand {
      async run(): Promise<void> {
        await this.parse(Talker)
        this.warn('the target is older')
        this.diag('Connected to 127.0.0.1:1')
      }
    }
    const config = await Config.load(new URL('../../../', import.meta.url).pathname)
    const capture = async (argv: string[]) => {
      const lines: string[] = []
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        lines.push(...String(chunk).split('\n').filter(Boolean))
        return true
      })
      try {
        await new Talker(argv, config).run()
      } finally {
        spy.mockRestore()
      }
      return lines
    }
    const events = (await capture(['--json'])).map((l) => JSON.parse(l))
    expect(events).toEqual([
      { type: 'warning', at: expect.any(Number), message: 'the target is older' },
      { type: 'notice', at: expect.any(Number), message: 'Connected to 127.0.0.1:1' },
    ])
    expect(await capture([])).toEqual(['Warning: the target is older', 'Connected to 127.0.0.1:1'])
  })
})
