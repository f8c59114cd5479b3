import { describe, expect, it } from 'vitest'
import { outputModeFrom, setOutputMode } from '../../../src/ui/output-mode.js'
import { reporterMode } from '../../../src/ui/reporter.js'

// ink's chalk decides its colour level when first imported: force colours so that "no colour" is
// the view's doing, not the test terminal's.
process.env.FORCE_COLOR = '3'

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
