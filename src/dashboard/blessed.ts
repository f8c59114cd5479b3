import { createRequire } from 'node:module'
import type * as Blessed from 'blessed'
import type line from 'blessed-contrib/lib/widget/charts/line.js'
import { stripColour } from './monochrome.js'

/**
 * The one module that loads blessed and blessed-contrib. Loaded on demand by `kvtop top`
 * only, so that other commands do not pay for it. Only the line chart of blessed-contrib is used:
 * its package entry would load every widget (maps, markdown, images) and an old chalk.
 */
const require = createRequire(import.meta.url)

export type { Widgets } from 'blessed'
export type LineChart = ReturnType<typeof line>

interface BlessedModules {
  blessed: typeof Blessed
  line: typeof line
}

let loaded: BlessedModules | undefined

export function loadBlessed(): BlessedModules {
  loaded ??= {
    blessed: require('blessed') as typeof Blessed,
    line: require('blessed-contrib/lib/widget/charts/line.js') as typeof line,
  }
  return loaded
}

/** Re-create a chart's drawing canvas after its box changed size (blessed-contrib sizes it once, on attach). */
export function resizeCanvas(chart: LineChart): void {
  ;(chart as unknown as { emit(event: string): void }).emit('attach')
  clearWholeCanvasAtOnce(chart)
}

/** What of blessed-contrib's drawing context (drawille) the fast clear touches. */
interface DrawingContext {
  _matrix: ArrayLike<number>
  _canvas: { width: number; height: number; content: Uint8Array; chars: unknown[] }
  clearRect(x: number, y: number, w: number, h: number): void
}

const patchedContexts = new WeakSet<object>()

/**
 * A chart clears its whole canvas before every redraw, and drawille does that one dot at a time
 * through two rasterised triangles (a sixth of a frame at 90 nodes). A clear of the whole
 * untransformed canvas is done here at once instead: every dot and text character emptied, which
 * is what the dot-by-dot clear leaves. Any other clear goes the original way.
 */
function clearWholeCanvasAtOnce(chart: LineChart): void {
  const ctx = (chart as unknown as { ctx?: DrawingContext }).ctx
  const proto = ctx && (Object.getPrototypeOf(ctx) as DrawingContext)
  if (!proto || patchedContexts.has(proto)) return
  patchedContexts.add(proto)
  const original = proto.clearRect
  proto.clearRect = function (this: DrawingContext, x: number, y: number, w: number, h: number) {
    const m = this._matrix
    const identity = m[0] === 1 && m[1] === 0 && m[2] === 0 && m[3] === 1 && m[4] === 0 && m[5] === 0
    const canvas = this._canvas
    if (identity && x <= 0 && y <= 0 && x + w >= canvas.width && y + h >= canvas.height) {
      canvas.content.fill(0)
      canvas.chars.fill(null)
      return
    }
    original.call(this, x, y, w, h)
  }
}

/**
 * NO_COLOR for a whole screen. blessed has no switch for it (its colour reduction still leaves two
 * colours), so what it writes to the terminal passes through a filter that drops colour parameters.
 * `_owrite` is the one place its program writes to the output stream.
 */
function dropColour(screen: Blessed.Widgets.Screen): void {
  const program = screen.program as unknown as { _owrite(text: string): unknown }
  const write = program._owrite.bind(program)
  program._owrite = (text: string) => write(typeof text === 'string' ? stripColour(text) : text)
}

/** What a screen shows, as plain text: one string per row, trailing blanks dropped. */
export function screenRows(screen: Blessed.Widgets.Screen): string[] {
  const lines = (screen as unknown as { lines: [unknown, string][][] }).lines
  return lines.map((row) =>
    row
      .map((cell) => cell[1])
      .join('')
      .trimEnd(),
  )
}

/** Where a full-screen view draws: the terminal by default, other streams in tests. */
interface ScreenTarget {
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
  terminal?: string
  color?: boolean
}

/** A blessed screen as every kvtop view opens one; without colour under NO_COLOR / --no-color. */
export function openScreen(
  target: ScreenTarget,
  options: Pick<Blessed.Widgets.IScreenOptions, 'title' | 'dockBorders'>,
): Blessed.Widgets.Screen {
  // (@types/blessed types `input` as a Writable; it is the terminal's readable side.)
  const streams = {
    ...(target.input ? { input: target.input } : {}),
    ...(target.output ? { output: target.output } : {}),
  } as Pick<Blessed.Widgets.IScreenOptions, 'input' | 'output'>
  const screen = loadBlessed().blessed.screen({
    ...streams,
    ...(target.terminal ? { terminal: target.terminal } : {}),
    smartCSR: true,
    // Everything drawn is ASCII (server bytes are escaped) or single-width BMP symbols (box, block
    // and braille characters): the slower full-Unicode width handling is not needed.
    fullUnicode: false,
    autoPadding: true,
    warnings: false,
    ...options,
  })
  if (target.color === false) dropColour(screen)
  return screen
}
