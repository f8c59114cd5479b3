import type { AlertThresholds, MonitorEvent } from '../metrics/alerts.js'
import { RingBuffer, type SeriesStore } from '../metrics/history.js'
import type { SlowlogEntry } from '../metrics/slowlog.js'
import type { Snapshot } from '../metrics/types.js'
import { openScreen, screenRows, type Widgets } from './blessed.js'
import { chartSpecs, drawChart } from './chart-view.js'
import { externalLines } from './cloudwatch-panel.js'
import { headerLines } from './header.js'
import { HELP_LINES } from './help.js'
import { filterKeyAction, keyAction, type Key, type KeyAction, type Mode, type Move } from './keys.js'
import { lagLines } from './lag-panel.js'
import { computeLayout, headerLinesFor, type Layout, type Rect } from './layout.js'
import { eventLines, slowlogLines } from './log-panels.js'
import { memoryLines } from './memory-panel.js'
import { nodeDetails } from './node-details.js'
import { nodeTable, type TableRow } from './node-table.js'
import { tableWindow } from './table-window.js'
import { initialViewState, type ViewState } from './view-state.js'
import { createWidgets, PanelLabels, placeWidgets, setText, type DashboardWidgets } from './widgets.js'

/** Lines a bordered panel shows. */
function panelLines(r: Rect | undefined): number {
  return Math.max(1, (r?.height ?? 3) - 2)
}

/** Characters across inside a bordered panel. */
function innerWidth(r: Rect | undefined): number {
  return Math.max(1, (r?.width ?? 3) - 2)
}

/** Rows the bottom panels would fill: one per shard (memory) and per replica (lag). */
function panelRows(s: Snapshot): number {
  return Math.max(s.shards.length, s.nodes.filter((n) => n.role === 'replica').length, 1)
}

export interface DashboardOptions {
  /** Terminal streams; default process.stdin / process.stdout. Tests pass fake ones. */
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  /** terminfo name; default $TERM (blessed ships xterm and xterm-256color). */
  terminal?: string
  thresholds: AlertThresholds
  /** Called on q / Ctrl-C. */
  onQuit: () => void
  /** False under NO_COLOR / --no-color: the same screen without colour (bold and inverse kept). */
  color?: boolean
  /** Points per chart. */
  chartPoints?: number
}

/**
 * The full-screen view of `kvtop top`, built on blessed and blessed-contrib's line chart: it keeps
 * the latest round and the view's state, draws a frame from them (the content comes from the pure
 * view functions of this folder), and applies the keys' actions (keys.ts).
 */
export class Dashboard {
  readonly screen: Widgets.Screen
  readonly state: ViewState = initialViewState()
  /** Time to build and render one frame, ms (wall clock). */
  readonly renderTimes = new RingBuffer<number>(1000)
  /** CPU time of the same, ms: unlike wall time, not inflated when the machine is busy with other work. */
  readonly renderCpuTimes = new RingBuffer<number>(1000)
  private mode: Mode = 'normal'
  private filterDraft = ''
  private snapshot?: Snapshot
  private history?: SeriesStore
  private slowlog: SlowlogEntry[] = []
  private readonly events: MonitorEvent[] = []
  private rows: TableRow[] = []
  /** Index of the first table row on screen. */
  private scrollTop = 0
  private layout!: Layout
  private readonly labels = new PanelLabels()
  private readonly widgets: DashboardWidgets

  constructor(private readonly options: DashboardOptions) {
    this.screen = openScreen(options, { title: 'kvtop', dockBorders: false })
    this.widgets = createWidgets(this.screen)
    this.screen.on('keypress', (ch: string | undefined, key: Key | undefined) => this.onKey(ch, key ?? {}))
    this.screen.on('resize', () => {
      this.relayout()
      this.draw()
    })
    this.relayout()
    this.drawEmpty()
  }

  // -------------------------------------------------------------------------------------------
  // Data in

  /** A new round. Events are always logged; the display is redrawn unless paused. */
  update(snapshot: Snapshot, history: SeriesStore, slowlog: SlowlogEntry[]): void {
    for (const e of snapshot.events) this.events.unshift(e)
    this.events.splice(500)
    if (this.state.paused) return
    const hadExternal = Boolean(this.snapshot?.external)
    const hadRows = this.headerRows()
    const hadNodes = this.snapshot?.nodes.length
    this.snapshot = snapshot
    this.history = history
    this.slowlog = slowlog
    if (
      hadExternal !== Boolean(snapshot.external) ||
      hadRows !== this.headerRows() ||
      hadNodes !== snapshot.nodes.length ||
      Boolean(this.layout.cloudwatchOnly) !== Boolean(snapshot.dataPlane)
    )
      this.relayout()
    this.draw()
  }

  // -------------------------------------------------------------------------------------------
  // Layout and drawing

  /** Header lines the screen can spare. */
  private headerMaxLines(): number {
    return headerLinesFor(this.screen.width as number, this.screen.height as number)
  }

  /** Lines of the header: 1 or 2, more when the line saying the nodes are unreachable wraps. */
  private headerRows(): number {
    const s = this.snapshot
    return s
      ? headerLines(s, this.state, (this.screen.width as number) - 2, this.headerMaxLines()).length
      : this.headerMaxLines()
  }

  private relayout(): void {
    this.layout = computeLayout(
      this.screen.width as number,
      this.screen.height as number,
      Boolean(this.snapshot?.external),
      this.headerRows(),
      Boolean(this.snapshot?.dataPlane),
      this.snapshot ? { tableRows: this.snapshot.nodes.length, panelRows: panelRows(this.snapshot) } : {},
    )
    const wd = this.widgets
    placeWidgets(wd, this.layout)
    this.labels.set(wd.memory, 'memory per shard')
    this.labels.set(wd.lag, 'replication lag')
    this.labels.set(wd.slowlog, 'slowlog')
  }

  private drawEmpty(): void {
    this.widgets.header.setContent('{bold}kvtop{/bold}  connecting…')
    this.render()
  }

  /** A frame: header, table, charts and panels from the latest round, then the screen rendered. */
  private draw(): void {
    const s = this.snapshot
    const history = this.history
    if (!s || !history) return
    const started = performance.now()
    const cpu = process.cpuUsage()
    setText(this.widgets.header, this.headerText(s))
    this.drawTable(s)
    for (const spec of chartSpecs(this.widgets, this.layout, s, this.state))
      drawChart(
        spec,
        { history, state: this.state, intervalMs: s.intervalMs, chartPoints: this.options.chartPoints },
        this.labels,
      )
    this.drawPanels(s, history)
    if (this.mode === 'details') this.showDetails()
    this.render(started, cpu)
  }

  private drawTable(s: Snapshot): void {
    const table = nodeTable(s, this.state, this.options.thresholds, innerWidth(this.layout.table))
    this.rows = table.rows
    setText(this.widgets.tableHeader, table.header)
    this.labels.set(this.widgets.tableBox, `nodes ${table.rows.length}/${table.total}`)
    this.drawRows()
  }

  /** The panels under the charts, each given only the lines it can show: parsing hidden lines is most of a frame's cost. */
  private drawPanels(s: Snapshot, history: SeriesStore): void {
    const wd = this.widgets
    const l = this.layout
    const t = this.options.thresholds
    const fit = (lines: string[], r: Rect | undefined) => lines.slice(0, panelLines(r)).join('\n')
    if (l.memory) setText(wd.memory, fit(memoryLines(s, innerWidth(l.memory)), l.memory))
    if (l.lag) setText(wd.lag, fit(lagLines(s, history, innerWidth(l.lag), t, panelLines(l.lag)), l.lag))
    if (l.slowlog)
      setText(
        wd.slowlog,
        fit(slowlogLines(this.slowlog.slice(0, l.slowlog.height), innerWidth(l.slowlog)), l.slowlog),
      )
    if (l.alerts) {
      this.labels.set(wd.alerts, `alerts (${s.alerts.length} active)`)
      setText(
        wd.alerts,
        fit(eventLines(this.events.slice(0, l.alerts.height), innerWidth(l.alerts)), l.alerts),
      )
    }
    if (l.external) {
      this.labels.set(wd.external, s.external?.source ?? 'external')
      setText(wd.external, fit(externalLines(s, innerWidth(l.external)), l.external))
    }
  }

  private tableHeight(): number {
    return Math.max(1, (this.widgets.table.height as number) || 1)
  }

  /** The visible slice of the table, the selected row in reverse video and kept in view. */
  private drawRows(): void {
    const shown = tableWindow(this.rows, this.state.selectedId, this.scrollTop, this.tableHeight())
    this.state.selectedId = shown.selectedId
    this.scrollTop = shown.scrollTop
    setText(this.widgets.table, shown.text)
  }

  private headerText(s: Snapshot): string {
    return headerLines(s, this.state, innerWidth(this.layout.header), this.headerMaxLines()).join('\n')
  }

  private render(started = performance.now(), cpu = process.cpuUsage()): void {
    this.screen.render()
    this.renderTimes.push(performance.now() - started)
    const used = process.cpuUsage(cpu)
    this.renderCpuTimes.push((used.user + used.system) / 1000)
  }

  /** The screen as plain text, one string per row (tests, and a check that a frame was drawn). */
  screenText(): string[] {
    return screenRows(this.screen)
  }

  // -------------------------------------------------------------------------------------------
  // Keys

  private onKey(ch: string | undefined, key: Key): void {
    if (this.mode === 'filter') return this.onFilterKey(ch, key)
    this.apply(keyAction(this.mode, this.state, ch, key))
  }

  private apply(action: KeyAction): void {
    switch (action.do) {
      case 'none':
        return
      case 'quit':
        return this.options.onQuit()
      case 'move':
        return this.move(action.by)
      case 'view':
        Object.assign(this.state, action.change)
        return this.draw()
      case 'toggle-pause':
        this.state.paused = !this.state.paused
        if (this.snapshot) this.widgets.header.setContent(this.headerText(this.snapshot))
        return this.render()
      case 'open-filter':
        this.mode = 'filter'
        this.filterDraft = this.state.filter
        return this.showPrompt()
      case 'open-details':
        this.mode = 'details'
        return this.showDetails()
      case 'open-help':
        this.mode = 'help'
        return this.showPopup(' help ', HELP_LINES)
      case 'window':
        if (action.close) this.closePopup()
        else if (action.scroll) this.widgets.popup.scroll(action.scroll)
        return this.render()
    }
  }

  private onFilterKey(ch: string | undefined, key: Key): void {
    const action = filterKeyAction(this.filterDraft, ch, key)
    switch (action.do) {
      case 'none':
        return
      case 'quit':
        return this.options.onQuit()
      case 'apply':
        this.state.filter = action.filter
        this.mode = 'normal'
        this.widgets.prompt.hide()
        return this.draw()
      case 'cancel':
        this.mode = 'normal'
        this.widgets.prompt.hide()
        return this.render()
      case 'edit':
        this.filterDraft = action.draft
        return this.showPrompt()
    }
  }

  private showPrompt(): void {
    this.widgets.prompt.setContent(
      `filter: ${this.filterDraft}_   (Enter apply, Esc cancel; e.g. primary, down, lag, s2, 127.0.0.1:7001)`,
    )
    this.widgets.prompt.show()
    this.widgets.prompt.setFront()
    this.render()
  }

  private move(by: Move): void {
    if (!this.rows.length) return
    const page = Math.max(1, this.tableHeight() - 1)
    const delta =
      by === 'page-down'
        ? page
        : by === 'page-up'
          ? -page
          : by === 'home'
            ? -this.rows.length
            : by === 'end'
              ? this.rows.length
              : by
    const current = Math.max(
      0,
      this.rows.findIndex((r) => r.id === this.state.selectedId),
    )
    const next = Math.max(0, Math.min(this.rows.length - 1, current + delta))
    this.state.selectedId = this.rows[next].id
    // Charts follow the selection.
    if (this.snapshot && !this.state.paused) return this.draw()
    this.drawRows()
    this.render()
  }

  private showDetails(): void {
    const s = this.snapshot
    const node = s?.nodes.find((n) => n.id === this.state.selectedId)
    if (!s || !node) return this.closePopup()
    this.showPopup(` ${node.address} — Enter/Esc to close `, nodeDetails(node, s))
  }

  private showPopup(label: string, lines: string[]): void {
    this.widgets.popup.setLabel(label)
    this.widgets.popup.setContent(lines.join('\n'))
    this.widgets.popup.show()
    this.widgets.popup.setFront()
    this.render()
  }

  private closePopup(): void {
    this.mode = 'normal'
    this.widgets.popup.hide()
    this.render()
  }

  destroy(): void {
    this.screen.destroy()
  }
}
