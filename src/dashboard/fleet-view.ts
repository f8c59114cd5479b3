import { loadBlessed, openScreen, screenRows, type Widgets } from './blessed.js'
import { fleetHeader, fleetTable, type FleetEntry } from './fleet-view-model.js'

interface FleetViewOptions {
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  terminal?: string
  color?: boolean
  /** Enter on a deployment. */
  onOpen: (name: string) => void
  /** q / Ctrl-C. */
  onQuit: () => void
}

interface Key {
  name?: string
  ctrl?: boolean
}

/** The full-screen fleet table of `kvtop top` over several deployments, on blessed. */
export class FleetView {
  readonly screen: Widgets.Screen
  private entries: readonly FleetEntry[] = []
  private selected?: string
  private readonly header: Widgets.BoxElement
  private readonly table: Widgets.BoxElement

  constructor(private readonly options: FleetViewOptions) {
    const { blessed } = loadBlessed()
    this.screen = openScreen(options, { title: 'kvtop fleet' })
    this.header = blessed.box({
      parent: this.screen,
      top: 0,
      left: 0,
      width: '100%',
      height: 3,
      tags: false,
      border: { type: 'line' },
      style: { border: { fg: 'cyan' } },
    })
    this.table = blessed.box({
      parent: this.screen,
      top: 3,
      left: 0,
      width: '100%',
      height: '100%-3',
      label: ' deployments ',
      tags: true,
      wrap: false,
      border: { type: 'line' },
      style: { border: { fg: 'cyan' } },
    })
    this.screen.on('keypress', (ch: string | undefined, key: Key | undefined) => this.onKey(ch, key ?? {}))
    this.screen.on('resize', () => this.draw())
  }

  /** The deployments' latest state; the selection stays on the same name. */
  update(entries: readonly FleetEntry[]): void {
    this.entries = entries
    if (!this.selected || !entries.some((e) => e.name === this.selected)) this.selected = entries[0]?.name
    this.draw()
  }

  select(name: string): void {
    this.selected = name
  }

  private draw(): void {
    const width = Math.max(10, (this.screen.width as number) - 2)
    const { header, rows } = fleetTable(this.entries, width)
    this.header.setContent(fleetHeader(this.entries))
    const lines = [
      `{bold}${header}{/bold}`,
      ...rows.map((r) => (r.name === this.selected ? `{inverse}${r.tagged}{/inverse}` : r.tagged)),
    ]
    this.table.setContent(lines.join('\n'))
    this.screen.render()
  }

  private onKey(ch: string | undefined, key: Key): void {
    const name = key.ctrl && key.name ? `C-${key.name}` : (key.name ?? ch ?? '')
    if (name === 'C-c' || ch === 'q') return this.options.onQuit()
    if (name === 'down' || ch === 'j') return this.move(1)
    if (name === 'up' || ch === 'k') return this.move(-1)
    // blessed reports Enter twice ('return' then 'enter'); only 'enter' is acted on.
    if (name === 'enter' && this.selected) this.options.onOpen(this.selected)
  }

  private move(delta: number): void {
    if (!this.entries.length) return
    const at = Math.max(
      0,
      this.entries.findIndex((e) => e.name === this.selected),
    )
    this.selected = this.entries[Math.max(0, Math.min(this.entries.length - 1, at + delta))].name
    this.draw()
  }

  /** The screen as plain text, one string per row (tests). */
  screenText(): string[] {
    return screenRows(this.screen)
  }

  destroy(): void {
    this.screen.destroy()
  }
}
