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

export interface BlessedModules {
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
}

/**
 * NO_COLOR for a whole screen. blessed has no switch for it (its colour reduction still leaves two
 * colours), so what it writes to the terminal passes through a filter that drops colour parameters.
 * `_owrite` is the one place its program writes to the output stream.
 */
export function dropColour(screen: Blessed.Widgets.Screen): void {
  const program = screen.program as unknown as { _owrite(text: string): unknown }
  const write = program._owrite.bind(program)
  program._owrite = (text: string) => write(typeof text === 'string' ? stripColour(text) : text)
}

/** Where a full-screen view draws: the terminal by default, other streams in tests. */
export interface ScreenTarget {
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
