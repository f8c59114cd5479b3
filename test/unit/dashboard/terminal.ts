import { PassThrough, Writable } from 'node:stream'

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
