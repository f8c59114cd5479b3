/**
 * How a command may write to the terminal, decided once from the environment and the global flags:
 * colour or not, and whether progress is shown at all (--quiet). Views read it rather than each
 * probing the environment in its own way.
 */
interface OutputMode {
  /** Colour allowed: NO_COLOR unset or empty, no --no-color, TERM not dumb. Views still need a TTY. */
  color: boolean
  /** The terminal cannot move the cursor or draw (TERM=dumb): no full-screen view, no redrawn progress. */
  dumb: boolean
  /** --quiet: no progress at all (warnings and errors still go to stderr). */
  quiet: boolean
}

/** Flags before any `--`, as oclif reads them. */
function flagGiven(argv: readonly string[], flag: string): boolean {
  const end = argv.indexOf('--')
  return (end < 0 ? argv : argv.slice(0, end)).includes(flag)
}

export function outputModeFrom(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): OutputMode {
  const dumb = env.TERM === 'dumb'
  // no-color.org: any non-empty value disables colour.
  const noColor = Boolean(env.NO_COLOR) || flagGiven(argv, '--no-color')
  return { color: !noColor && !dumb, dumb, quiet: flagGiven(argv, '--quiet') }
}

let current: OutputMode = outputModeFrom([])

/** Set by the command base class before a command runs. */
export function setOutputMode(mode: OutputMode): void {
  current = mode
  // Libraries that colour on their own (chalk inside ink, ansis inside oclif) read FORCE_COLOR.
  if (!mode.color) process.env.FORCE_COLOR = '0'
}

export function outputMode(): OutputMode {
  return current
}
