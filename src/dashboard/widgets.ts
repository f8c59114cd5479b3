import { loadBlessed, resizeCanvas, type LineChart, type Widgets } from './blessed.js'
import type { Layout, Rect } from './layout.js'
import { untagged } from './markup.js'

/** The dashboard's blessed widgets: created once, placed by the layout, their text and labels set only when changed. */

/** Every panel of the dashboard. */
export interface DashboardWidgets {
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
export function createWidgets(screen: Widgets.Screen): DashboardWidgets {
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

/** Each widget at its rectangle of the layout; a widget without one is hidden. */
export function placeWidgets(wd: DashboardWidgets, l: Layout): void {
  place(wd.header, l.header)
  place(wd.tableBox, l.table)
  wd.tableHeader.width = Math.max(1, l.table.width - 2)
  wd.table.width = Math.max(1, l.table.width - 2)
  wd.table.height = Math.max(1, l.table.height - 3)
  place(wd.ops, l.ops)
  place(wd.latency, l.latency)
  place(wd.node, l.node)
  place(wd.memory, l.memory)
  place(wd.lag, l.lag)
  place(wd.slowlog, l.slowlog)
  place(wd.alerts, l.alerts)
  place(wd.external, l.external)
  for (const c of [wd.ops, wd.latency, wd.node]) if (!c.hidden) resizeCanvas(c)
}

function place(el: Widgets.BlessedElement, r: Rect | undefined): void {
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
 * Set a widget's text only when it changed: blessed blanks the widget's region on every
 * setContent, so an unchanged panel would be diffed and redrawn on every frame.
 */
export function setText(el: Widgets.BoxElement, text: string): void {
  if ((el as { content?: string }).content !== text) el.setContent(text)
}

/** Panel labels, each set only when it changed (setting a label redraws it). */
export class PanelLabels {
  /** The label last set on each panel. */
  private readonly labels = new Map<Widgets.BoxElement, string>()

  /**
   * A panel label cut to the panel's width: a longer one would spill over the border into the
   * next panel. `fallback` (plain text) replaces a tagged label that does not fit.
   */
  set(el: Widgets.BoxElement, text: string, fallback?: string): void {
    const room = Math.max(0, (el.width as number) - 4)
    const plain = untagged(text)
    const short = fallback ?? plain
    const label =
      plain.length <= room
        ? ` ${text} `
        : ` ${short.length > room ? short.slice(0, Math.max(0, room - 1)) + '…' : short} `
    if (this.labels.get(el) === label) return
    this.labels.set(el, label)
    el.setLabel(label)
  }
}
