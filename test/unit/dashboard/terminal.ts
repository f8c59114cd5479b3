import { PassThrough, Writable } from 'node:stream'
import { afterEach } from 'vitest'
import { Dashboard, type DashboardOptions } from '../../../src/dashboard/dashboard.js'
import { DEFAULT_THRESHOLDS } from '../../../src/metrics/alerts.js'

/** A fake terminal: a TTY-looking input to type into and an output with a size that can change. */
export class FakeTerminal {
  readonly input: PassThrough & { isTTY: boolean; setRawMode: (mode: boolean) => void }
  readonly output: Writable & { isTTY: boolean; columns: number; rows: number }
  bytesWritten = 0
  /** Everything written, escape sequences included. */
  written = ''

  constructor(columns: number, rows: number) {
    this.input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} })
    const out = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.bytesWritten += chunk.length
        this.written += chunk.toString('utf8')
        cb()
      },
    })
    this.output = Object.assign(out, { isTTY: true, columns, rows })
  }

  /** Keys as a terminal sends them: text, '\r' for Enter, '\x1b' for Escape, '\x1b[B' for Down. */
  async type(...keys: string[]): Promise<void> {
    for (const k of keys) {
      this.input.write(k)
      await new Promise((r) => setTimeout(r, 15))
    }
  }

  resize(columns: number, rows: number): void {
    this.output.columns = columns
    this.output.rows = rows
    this.output.emit('resize')
  }
}

/**
 * `kvtop top`'s dashboard on a FakeTerminal of the given size, for a test file: every dashboard it
 * opens is destroyed after its test.
 */
export function dashboardsClosedAfterEach(): (
  columns: number,
  rows: number,
  options?: Partial<DashboardOptions>,
) => { d: Dashboard; term: FakeTerminal } {
  const open: Dashboard[] = []
  afterEach(() => {
    for (const d of open.splice(0)) d.destroy()
  })
  return (columns, rows, options = {}) => {
    const term = new FakeTerminal(columns, rows)
    const d = new Dashboard({
      input: term.input,
      output: term.output,
      terminal: 'xterm-256color',
      thresholds: DEFAULT_THRESHOLDS,
      onQuit: () => {},
      ...options,
    })
    open.push(d)
    return { d, term }
  }
}
