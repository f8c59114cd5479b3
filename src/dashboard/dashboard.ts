import type { AlertThresholds, MonitorEvent } from '../metrics/alerts.js'
import { RingBuffer, type SeriesStore } from '../metrics/history.js'
import type { SlowlogEntry } from '../metrics/slowlog.js'
import type { Snapshot } from '../metrics/types.js'
import { loadBlessed, openScreen, screenRows, resizeCanvas, type LineChart, type Widgets } from './blessed.js'
import { CHART_WINDOWS, windowLabel } from './chart-window.js'
import { chartData, chartScale } from './charts.js'
import { externalLines } from './cloudwatch-panel.js'
import { headerLines } from './header.js'
import { HELP_LINES } from './help.js'
import { lagLines } from './lag-panel.js'
import { computeLayout, type Layout, type Rect } from './layout.js'
import { eventLines, slowlogLines } from './log-panels.js'
import { memoryLines } from './memory-panel.js'
import { plainLength, untagged } from './markup.js'
import { nodeDetails } from './node-details.js'
import { nodeTable, type TableRow } from './node-table.js'
import { initialViewState, SORT_KEYS, type ViewState } from './view-state.js'
import { headerLinesFor } from './layout.js'

/**
 * Set a widget's text only when it changed: blessed blanks the widget's region on every
 * setContent, so an unchanged panel would be diffed and redrawn on every frame.
 */
function setText(el: Widgets.BoxElement, text: string): void {
  if ((el as { content?: string }).content !== text) el.setContent(text)
}

/** Lines a bordered panel shows. */
function panelLines(r: Rect | undefined): number {
  return Math.max(1, (r?.height ?? 3) - 2)
}

/** Rows the bottom panels would fill: one per shard (memory) and per replica (lag). */
function panelRows(s: Snapshot): number {
  return Math.max(s.shards.length, s.nodes.filter((n) => n.role === 'replica').length, 1)
}

interface ChartSeries {
  title: string
  key: string
  color: string
}

interface ChartSpec {
  chart: LineChart
  rect: Rect | undefined
  label: string
  series: ChartSeries[]
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

type Mode = 'normal' | 'filter' | 'details' | 'help'

interface Key {
  name?: string
  full?: string
  ctrl?: boolean
  shift?: boolean
}

/** Every panel of the dashboard. */
interface DashboardWidgets {
  header: Widgets.BoxElement
  tableBox: Widgets.BoxElement
  tableHeader: Widgets.BoxElement
  table: Widgets.BoxElement
  ops: LineChart
  latency: LineChart
  node: LineChart
  memory: Widgets.BoxElement
  lag: Widgets.BoxElement
  slowlog: Widgets.BoxElement
  alerts: Widgets.BoxElement
  external: Widgets.BoxElement
  popup: Widgets.BoxElement
  prompt: Widgets.BoxElement
}

/** The dashboard's panels and charts on `screen`, laid out later by relayout(). */
function createWidgets(screen: Widgets.Screen): DashboardWidgets {
  const { blessed } = loadBlessed()
  const header = blessed.box({
    parent: screen,
    tags: true,
    border: { type: 'line' },
    style: { border: { fg: 'cyan' } },
  })
  return {
    header,
    ...nodesTable(screen),
    ops: chart(screen, 'ops/s', 'green'),
    latency: chart(screen, 'latency (usec)', 'yellow'),
    node: chart(screen, 'selected node', 'cyan'),
    memory: panel(screen, 'memory per shard'),
    lag: panel(screen, 'replication lag'),
    slowlog: panel(screen, 'slowlog'),
    alerts: panel(screen, 'alerts'),
    external: panel(screen, 'cloudwatch'),
    popup: blessed.box({
      parent: screen,
      top: 'center',
      left: 'center',
      width: '80%',
      height: '80%',
      tags: true,
      border: { type: 'line' },
      style: { border: { fg: 'white' }, bg: 'black' },
      scrollable: true,
      alwaysScroll: true,
      hidden: true,
    }),
    prompt: blessed.box({
      parent: screen,
      bottom: 0,
      left: 0,
      height: 1,
      width: '100%',
      tags: false,
      hidden: true,
      style: { inverse: true },
    }),
  }
}

function panel(screen: Widgets.Screen, label: string): Widgets.BoxElement {
  return loadBlessed().blessed.box({
    parent: screen,
    label: ` ${label} `,
    tags: true,
    wrap: false,
    border: { type: 'line' },
    style: { border: { fg: 'cyan' }, label: { fg: 'white' } },
    scrollable: true,
    alwaysScroll: true,
  })
}

function chart(screen: Widgets.Screen, label: string, color: string): LineChart {
  const c = loadBlessed().line({
    label: ` ${label} `,
    border: { type: 'line' },
    style: { line: color, text: 'white', baseline: 'white', border: { fg: 'cyan' } },
    // The legend goes into the label: blessed-contrib draws its box over the newest points.
    showLegend: false,
    tags: true,
    xLabelPadding: 3,
    xPadding: 5,
    wholeNumbersOnly: false,
    abbreviate: false,
    width: 40,
    height: 10,
  })
  screen.append(c)
  return c
}

/** The nodes panel: a header line and, under it, the rows as text. */
function nodesTable(screen: Widgets.Screen): Pick<DashboardWidgets, 'tableBox' | 'tableHeader' | 'table'> {
  const { blessed } = loadBlessed()
  const tableBox = panel(screen, 'nodes')
  const tableHeader = blessed.box({
    parent: tableBox,
    top: 0,
    left: 0,
    height: 1,
    tags: false,
    style: { bold: true, fg: 'white' },
  })
  // Rows are drawn as text into one box, only the visible ones: a list widget would make one
  // element per row, which costs most of a frame at 90+ nodes.
  const table = blessed.box({ parent: tableBox, top: 1, left: 0, tags: true, wrap: false })
  return { tableBox, tableHeader, table }
}

/** The full-screen view of `kvtop top`, built on blessed and blessed-contrib's line chart. */
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
  /** The label last set on each panel. */
  private readonly labels = new Map<Widgets.BoxElement, string>()
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

  private place(el: Widgets.BlessedElement, r: Rect | undefined): void {
    if (!r) {
      el.hide()
      return
    }
    el.top = r.top
    el.left = r.left
    el.width = r.width
    el.height = r.height
    el.show()
  }

  /**
   * A panel label cut to the panel's width: a longer one would spill over the border into the
   * next panel. `fallback` (plain text) replaces a tagged label that does not fit.
   */
  private label(el: Widgets.BoxElement, text: string, fallback?: string): void {
    const room = Math.max(0, (el.width as number) - 4)
    const plain = untagged(text)
    const short = fallback ?? plain
    const label =
      plain.length <= room
        ? ` ${text} `
        : ` ${short.length > room ? short.slice(0, Math.max(0, room - 1)) + '…' : short} `
    // Setting a label redraws it: only when it changed.
    if (this.labels.get(el) === label) return
    this.labels.set(el, label)
    el.setLabel(label)
  }

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
    const w = this.screen.width as number
    const h = this.screen.height as number
    this.layout = computeLayout(
      w,
      h,
      Boolean(this.snapshot?.external),
      this.headerRows(),
      Boolean(this.snapshot?.dataPlane),
      this.snapshot ? { tableRows: this.snapshot.nodes.length, panelRows: panelRows(this.snapshot) } : {},
    )
    const l = this.layout
    const wd = this.widgets
    this.place(wd.header, l.header)
    this.place(wd.tableBox, l.table)
    wd.tableHeader.width = Math.max(1, l.table.width - 2)
    wd.table.width = Math.max(1, l.table.width - 2)
    wd.table.height = Math.max(1, l.table.height - 3)
    this.place(wd.ops, l.ops)
    this.place(wd.latency, l.latency)
    this.place(wd.node, l.node)
    this.place(wd.memory, l.memory)
    this.place(wd.lag, l.lag)
    this.place(wd.slowlog, l.slowlog)
    this.place(wd.alerts, l.alerts)
    this.place(wd.external, l.external)
    for (const c of [wd.ops, wd.latency, wd.node]) if (!c.hidden) resizeCanvas(c)
    this.label(wd.memory, 'memory per shard')
    this.label(wd.lag, 'replication lag')
    this.label(wd.slowlog, 'slowlog')
  }

  private drawEmpty(): void {
    this.widgets.header.setContent('{bold}kvtop{/bold}  connecting…')
    this.render()
  }

  private inner(r: Rect | undefined): number {
    return Math.max(1, (r?.width ?? 3) - 2)
  }

  private draw(): void {
    const s = this.snapshot
    if (!s || !this.history) return
    const started = performance.now()
    const cpu = process.cpuUsage()
    const wd = this.widgets
    const l = this.layout
    setText(wd.header, this.headerText(s))

    const tableWidth = this.inner(l.table)
    const table = nodeTable(s, this.state, this.options.thresholds, tableWidth)
    this.rows = table.rows
    setText(wd.tableHeader, table.header)
    this.label(wd.tableBox, `nodes ${table.rows.length}/${table.total}`)
    this.drawRows()

    for (const spec of this.chartSpecs()) this.setChart(spec)
    // Panels get only the lines they can show: parsing hidden lines is most of a frame's cost.
    const fit = (lines: string[], r: Rect | undefined) => lines.slice(0, panelLines(r)).join('\n')
    if (l.memory) setText(wd.memory, fit(memoryLines(s, this.inner(l.memory)), l.memory))
    if (l.lag)
      setText(
        wd.lag,
        fit(lagLines(s, this.history, this.inner(l.lag), this.options.thresholds, panelLines(l.lag)), l.lag),
      )
    if (l.slowlog)
      setText(
        wd.slowlog,
        fit(slowlogLines(this.slowlog.slice(0, l.slowlog.height), this.inner(l.slowlog)), l.slowlog),
      )
    if (l.alerts) {
      this.label(wd.alerts, `alerts (${s.alerts.length} active)`)
      setText(
        wd.alerts,
        fit(eventLines(this.events.slice(0, l.alerts.height), this.inner(l.alerts)), l.alerts),
      )
    }
    if (l.external) {
      this.label(wd.external, s.external?.source ?? 'external')
      setText(wd.external, fit(externalLines(s, this.inner(l.external)), l.external))
    }
    if (this.mode === 'details') this.showDetails()
    this.render(started, cpu)
  }

  private tableHeight(): number {
    return Math.max(1, (this.widgets.table.height as number) || 1)
  }

  /** The visible slice of the table, the selected row in reverse video and kept in view. */
  private drawRows(): void {
    const found = this.state.selectedId ? this.rows.findIndex((r) => r.id === this.state.selectedId) : -1
    const index = found >= 0 ? found : 0
    this.state.selectedId = this.rows[index]?.id
    const height = this.tableHeight()
    if (index < this.scrollTop) this.scrollTop = index
    if (index >= this.scrollTop + height) this.scrollTop = index - height + 1
    this.scrollTop = Math.max(0, Math.min(this.scrollTop, Math.max(0, this.rows.length - height)))
    const visible = this.rows.slice(this.scrollTop, this.scrollTop + height)
    setText(
      this.widgets.table,
      visible
        .map((r, i) => (this.scrollTop + i === index ? `{inverse}${r.tagged}{/inverse}` : r.tagged))
        .join('\n'),
    )
  }

  private headerText(s: Snapshot): string {
    return headerLines(s, this.state, this.inner(this.layout.header), this.headerMaxLines()).join('\n')
  }

  /**
   * What each chart shows. With room for three: the cluster's ops/s, its latency (average and the
   * worst node's p99), and the selected node's ops/s on a scale of its own (a node's line drawn on
   * the cluster's scale would lie flat along the bottom). With room for two, `c` switches both
   * between the cluster and the selected node.
   */
  private chartSpecs(): ChartSpec[] {
    const wd = this.widgets
    const l = this.layout
    const sel = this.snapshot?.nodes.find((n) => n.id === this.state.selectedId)
    const scope = sel && !l.node && this.state.chartScope === 'node' ? sel : undefined
    const key = scope ? scope.id : 'cluster'
    const who = scope ? scope.address : 'cluster'
    const specs: ChartSpec[] = [
      {
        chart: wd.ops,
        rect: l.ops,
        label: `ops/s ${who}`,
        series: [{ title: who, key: `${key}:ops`, color: 'green' }],
      },
      {
        chart: wd.latency,
        rect: l.latency,
        label: `latency usec${scope ? ` ${who}` : ''}`,
        series: [
          { title: 'avg', key: `${key}:latency`, color: 'yellow' },
          { title: scope ? 'p99' : 'p99 worst node', key: `${key}:p99`, color: 'red' },
        ],
      },
    ]
    if (l.node && sel)
      specs.push({
        chart: wd.node,
        rect: l.node,
        label: `ops/s ${sel.address}`,
        series: [{ title: sel.address, key: `${sel.id}:ops`, color: 'cyan' }],
      })
    return specs
  }

  private setChart({ chart, rect, label, series }: ChartSpec): void {
    if (!rect || chart.hidden || (chart.width as number) < 20 || (chart.height as number) < 6) return
    const width = chart.width as number
    // Two points per column: the braille canvas has two dots across each character cell.
    const points = Math.min(this.options.chartPoints ?? Infinity, Math.max(2, (width - 8) * 2))
    const windowMs = this.state.window * 60_000
    const data = series.map((x) => ({
      title: x.title,
      style: { line: x.color },
      ...chartData(this.history!.get(x.key), windowMs, points),
    }))
    const max = Math.max(0, ...data.flatMap((d) => d.y))
    // Scale to short labels ourselves: blessed-contrib's own abbreviation misaligns its axis.
    const { divisor, suffix } = chartScale(max)
    if (divisor !== 1) for (const d of data) d.y = d.y.map((v) => v / divisor)
    const top = Math.max(...data.map((d) => Math.max(...d.y)))
    const window = windowLabel(this.state.window, this.history!.capacity, this.snapshot!.intervalMs)
    const title = `${label}${suffix} · ${window}`
    const key = (x: ChartSeries, name: string) => `{${x.color}-fg}━{/${x.color}-fg} ${name}`
    if (series.length < 2) this.label(chart, title)
    else {
      const full = `${title}  ${series.map((x) => key(x, x.title)).join(' ')}`
      const short = `${title} ${series.map((x) => key(x, x.title.split(' ')[0])).join(' ')}`
      const room = (chart.width as number) - 4
      this.label(chart, plainLength(full) <= room ? full : short, title)
    }
    // The top of the y axis as blessed-contrib computes it (the largest value plus a fifth), given
    // up front: left to itself it recomputes it over every series for every point it draws.
    chart.options.maxY = max > 0 ? top + (top - (chart.options.minY ?? 0)) * 0.2 : 1
    // Every label would overlap on a narrow chart: show one in N.
    const shown = Math.max(...data.map((d) => d.x.length))
    ;(chart.options as { showNthLabel?: number }).showNthLabel = Math.max(
      1,
      Math.ceil(shown / Math.max(1, (width - 10) / 7)),
    )
    chart.setData(data)
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

  /** Key name: blessed reports Enter twice ('return' then 'enter'); only 'enter' is acted on. */
  private keyName(ch: string | undefined, key: Key): string {
    if (key.ctrl && key.name) return `C-${key.name}`
    return key.name ?? ch ?? ''
  }

  private onKey(ch: string | undefined, key: Key): void {
    const full = this.keyName(ch, key)
    if (full === 'return') return
    if (full === 'C-c') return this.options.onQuit()
    if (this.mode === 'filter') return this.onFilterKey(ch, key)
    if (this.mode === 'details' || this.mode === 'help') {
      if (full === 'escape' || full === 'enter' || ch === '?' || ch === 'q') {
        if (ch === 'q' && this.mode === 'help') return this.options.onQuit()
        this.closePopup()
      } else if (full === 'down' || ch === 'j') this.widgets.popup.scroll(1)
      else if (full === 'up' || ch === 'k') this.widgets.popup.scroll(-1)
      this.render()
      return
    }
    switch (true) {
      case ch === 'q':
        return this.options.onQuit()
      case full === 'down' || ch === 'j':
        return this.move(1)
      case full === 'up' || ch === 'k':
        return this.move(-1)
      case full === 'pagedown':
        return this.move(Math.max(1, this.tableHeight() - 1))
      case full === 'pageup':
        return this.move(-Math.max(1, this.tableHeight() - 1))
      case full === 'home' || ch === 'g':
        return this.move(-this.rows.length)
      case full === 'end' || ch === 'G':
        return this.move(this.rows.length)
      case ch === 's':
        this.state.sort = SORT_KEYS[(SORT_KEYS.indexOf(this.state.sort) + 1) % SORT_KEYS.length]
        this.state.descending = this.state.sort !== 'shard' && this.state.sort !== 'address'
        return this.draw()
      case ch === 'S':
        this.state.descending = !this.state.descending
        return this.draw()
      case ch === '/':
        this.mode = 'filter'
        this.filterDraft = this.state.filter
        return this.showPrompt()
      case full === 'escape':
        if (this.state.filter) {
          this.state.filter = ''
          this.draw()
        }
        return
      case ch === 'p':
        this.state.paused = !this.state.paused
        if (this.snapshot) this.widgets.header.setContent(this.headerText(this.snapshot))
        return this.render()
      case ch === 'w': {
        const i = CHART_WINDOWS.indexOf(this.state.window)
        this.state.window = CHART_WINDOWS[(i + 1) % CHART_WINDOWS.length]
        return this.draw()
      }
      case ch === 'c':
        this.state.chartScope = this.state.chartScope === 'cluster' ? 'node' : 'cluster'
        return this.draw()
      case full === 'enter':
        if (!this.state.selectedId) return
        this.mode = 'details'
        return this.showDetails()
      case ch === '?':
        this.mode = 'help'
        this.widgets.popup.setLabel(' help ')
        this.widgets.popup.setContent(HELP_LINES.join('\n'))
        this.widgets.popup.show()
        this.widgets.popup.setFront()
        return this.render()
    }
  }

  private onFilterKey(ch: string | undefined, key: Key): void {
    const full = this.keyName(ch, key)
    if (full === 'enter') {
      this.state.filter = this.filterDraft.trim()
      this.mode = 'normal'
      this.widgets.prompt.hide()
      return this.draw()
    }
    if (full === 'escape') {
      this.mode = 'normal'
      this.widgets.prompt.hide()
      return this.render()
    }
    if (full === 'backspace') this.filterDraft = this.filterDraft.slice(0, -1)
    else if (full === 'C-u') this.filterDraft = ''
    else if (ch && ch.length === 1 && ch >= ' ' && !key.ctrl) this.filterDraft += ch
    this.showPrompt()
  }

  private showPrompt(): void {
    this.widgets.prompt.setContent(
      `filter: ${this.filterDraft}_   (Enter apply, Esc cancel; e.g. primary, down, lag, s2, 127.0.0.1:7001)`,
    )
    this.widgets.prompt.show()
    this.widgets.prompt.setFront()
    this.render()
  }

  private move(delta: number): void {
    if (!this.rows.length) return
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
    this.widgets.popup.setLabel(` ${node.address} — Enter/Esc to close `)
    this.widgets.popup.setContent(nodeDetails(node, s).join('\n'))
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
