import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'

// ink's chalk decides its colour level when first imported: force colours so that "no colour" is
// the view's doing, not the test terminal's.
process.env.FORCE_COLOR = '3'

/** Any SGR sequence that sets a foreground or background colour. */
const COLOUR_SGR = /\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m/

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
})
