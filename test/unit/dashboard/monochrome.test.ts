import { describe, expect, it } from 'vitest'
import { stripColour } from '../../../src/dashboard/monochrome.js'
import { clusterSnapshot, event, historyFor } from './snapshots.js'
import { dashboardsClosedAfterEach } from './terminal.js'

// ink's chalk decides its colour level when first imported: force colours so that "no colour" is
// the view's doing, not the test terminal's.
process.env.FORCE_COLOR = '3'

const onTerminal = dashboardsClosedAfterEach()

/** Any SGR sequence that sets a foreground or background colour. */
const COLOUR_SGR = /\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m/

describe('colour off', () => {
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
      const { d, term } = onTerminal(160, 48, { color })
      d.update(s, historyFor(s), [])
      await new Promise((r) => setTimeout(r, 30))
      return { written: term.written, text: d.screenText().join('\n') }
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
