export interface Rect {
  top: number
  left: number
  width: number
  height: number
}

export interface Layout {
  /** No row of panels under the charts (memory, lag, slowlog, alerts): a small screen. */
  compact: boolean
  /** The CloudWatch-only arrangement (see computeLayout). */
  cloudwatchOnly?: boolean
  header: Rect
  table: Rect
  ops?: Rect
  latency?: Rect
  /** The selected node's own chart, with its own scale (wide screens). */
  node?: Rect
  memory?: Rect
  lag?: Rect
  slowlog?: Rect
  alerts?: Rect
  external?: Rect
}

/** Rows a chart needs to draw a line and its axis labels. */
const CHART_MIN_HEIGHT = 8
/** Columns a chart needs (blessed-contrib draws nothing useful narrower). */
const CHART_MIN_WIDTH = 38
/** Columns from which a third chart (the selected node) fits beside the cluster's two. */
const NODE_CHART_WIDTH = 150
const BOTTOM_MIN_HEIGHT = 7
const BOTTOM_MIN_WIDTH = 90

/**
 * Where every panel goes on a `width` x `height` screen. From the top: the header, the node
 * table across the screen (as tall as its rows, up to about half of what is left), the charts side
 * by side, then memory, lag, slowlog and alerts. A small screen drops the bottom row first, then
 * the charts; the table and the header stay.
 */
export function computeLayout(
  width: number,
  height: number,
  hasExternal: boolean,
  /** Lines of text in the header (1 or 2; more with the CloudWatch-only line). */
  headerRows = 2,
  /**
   * Only CloudWatch can be seen (nodes unreachable from here): no charts, memory, lag or slowlog
   * panels (nothing would fill them); the table across the screen, the CloudWatch panel below it.
   */
  cloudwatchOnly = false,
  /** What the panels hold, when known: they get the rows it needs and the charts the rest. */
  content: { tableRows?: number; panelRows?: number } = {},
): Layout {
  const header: Rect = { top: 0, left: 0, width, height: headerRows + 2 }
  const rest = Math.max(1, height - header.height)
  if (cloudwatchOnly) return cloudWatchOnlyLayout(width, height, header, rest)
  const rows = rowHeights(width, rest, content)
  if (!rows) return { compact: true, header, table: { top: header.height, left: 0, width, height: rest } }
  const top = header.height
  const table: Rect = { top, left: 0, width, height: rows.table }
  const chartsTop = top + rows.table
  const layout: Layout = {
    compact: !rows.withBottom,
    header,
    table,
    ...chartRow(width, chartsTop, rows.charts),
  }
  if (!rows.withBottom) return layout
  const bottomTop = chartsTop + rows.charts
  return { ...layout, ...bottomRow(width, bottomTop, height - bottomTop, hasExternal) }
}

/**
 * How the rows under the header share `rest` lines: the table, the charts and (with room for
 * it) the bottom row; undefined when only the table fits.
 */
function rowHeights(
  width: number,
  rest: number,
  { tableRows, panelRows }: { tableRows?: number; panelRows?: number },
): { table: number; charts: number; withBottom: boolean } | undefined {
  // Border, column titles, rows.
  const want = tableRows === undefined ? Infinity : tableRows + 3
  const tableMin = Math.min(want, 5)
  if (rest < tableMin + CHART_MIN_HEIGHT || width < CHART_MIN_WIDTH) return undefined
  const withBottom = width >= BOTTOM_MIN_WIDTH && rest >= tableMin + CHART_MIN_HEIGHT + BOTTOM_MIN_HEIGHT
  const below = withBottom ? CHART_MIN_HEIGHT + BOTTOM_MIN_HEIGHT : CHART_MIN_HEIGHT
  // A table that takes up to 60% of the room is shown whole; a longer one scrolls in half of it.
  const table = Math.max(
    tableMin,
    want <= rest * 0.6 ? Math.min(want, rest - below) : Math.min(Math.floor(rest * 0.5), rest - below),
  )
  const remaining = rest - table
  // The bottom row as tall as its longest list (shards, replicas) and a few lines of alerts and
  // slowlog, within bounds; the charts take the rest.
  const bottomWant = panelRows === undefined ? Math.ceil(remaining * 0.45) : panelRows + 2
  const bottom = Math.min(
    remaining - CHART_MIN_HEIGHT,
    Math.max(BOTTOM_MIN_HEIGHT + 3, Math.min(bottomWant, Math.floor(remaining * 0.45))),
  )
  return { table, charts: withBottom ? remaining - bottom : remaining, withBottom }
}

/** The charts side by side: ops and latency, and the selected node's on a wide screen. */
function chartRow(width: number, top: number, height: number): Pick<Layout, 'ops' | 'latency' | 'node'> {
  const count = width >= NODE_CHART_WIDTH ? 3 : width >= 2 * CHART_MIN_WIDTH ? 2 : 1
  const chartW = Math.floor(width / count)
  const chart = (i: number): Rect => ({
    top,
    left: i * chartW,
    width: i === count - 1 ? width - i * chartW : chartW,
    height,
  })
  return {
    ops: chart(0),
    ...(count >= 2 ? { latency: chart(1) } : {}),
    ...(count >= 3 ? { node: chart(2) } : {}),
  }
}

/** Memory, lag, slowlog and alerts across the bottom; CloudWatch's panel under the alerts when there is one. */
function bottomRow(
  width: number,
  top: number,
  height: number,
  hasExternal: boolean,
): Pick<Layout, 'memory' | 'lag' | 'slowlog' | 'alerts' | 'external'> {
  const memW = Math.max(24, Math.floor(width * 0.2))
  const lagW = Math.floor(width * 0.26)
  const slowW = Math.floor(width * 0.27)
  const alertW = width - memW - lagW - slowW
  const alertsH = hasExternal ? Math.floor(height / 2) : height
  return {
    memory: { top, left: 0, width: memW, height },
    lag: { top, left: memW, width: lagW, height },
    slowlog: { top, left: memW + lagW, width: slowW, height },
    alerts: { top, left: memW + lagW + slowW, width: alertW, height: alertsH },
    ...(hasExternal
      ? {
          external: {
            top: top + alertsH,
            left: memW + lagW + slowW,
            width: alertW,
            height: height - alertsH,
          },
        }
      : {}),
  }
}

function cloudWatchOnlyLayout(width: number, height: number, header: Rect, rest: number): Layout {
  if (width < 90 || height < 24)
    return {
      compact: true,
      cloudwatchOnly: true,
      header,
      table: { top: header.height, left: 0, width, height: rest },
    }
  const upper = Math.floor(rest * 0.55)
  const lower = rest - upper
  const alertW = Math.floor(width * 0.3)
  return {
    compact: false,
    cloudwatchOnly: true,
    header,
    table: { top: header.height, left: 0, width, height: upper },
    external: { top: header.height + upper, left: 0, width: width - alertW, height: lower },
    alerts: { top: header.height + upper, left: width - alertW, width: alertW, height: lower },
  }
}

/** Header lines for a screen: one where rows are scarce (an SSH or tmux pane), two otherwise. */
export function headerLinesFor(width: number, height: number): number {
  return height < 40 || width < 100 ? 1 : 2
}
