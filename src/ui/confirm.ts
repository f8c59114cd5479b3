import { createInterface } from 'node:readline'
import { createInterface as createPromiseInterface } from 'node:readline/promises'
import { UsageError } from '../errors.js'

/**
 * A typed confirmation before a change: the user types `expected` (the cluster's address, the
 * replication group's name). With `yes` it is skipped; when stdin is not a terminal, or with
 * --json, it refuses (exit 2, naming --yes) rather than wait for input that will never come.
 */
export async function confirmTyped(
  expected: string,
  what: string,
  yes: boolean,
  json = false,
): Promise<void> {
  if (yes) return
  const why = json ? '--json never prompts' : !process.stdin.isTTY ? 'stdin is not a terminal' : undefined
  if (why)
    throw new UsageError(`refusing to change ${what} without --yes (${why})`, {
      code: 'needs-confirmation',
      hint: 'Pass --yes to confirm (review the plan first with --dry-run).',
    })
  const rl = createPromiseInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await rl.question(`Type ${expected} to proceed: `)
    if (answer.trim() !== expected) throw new UsageError('not confirmed: nothing was changed')
  } finally {
    rl.close()
  }
}

export interface ConfirmOptions {
  /** --yes: go ahead without asking. */
  yes?: boolean
  /** --json: never prompt (a script reads the output), so --yes is needed. */
  json?: boolean
  /** What is refused without confirmation, for the message: `create MemoryDB cluster 'x'`. */
  action?: string
  /** What the refusal leaves undone, for the message (default: `nothing was done`). */
  nothingDone?: string
  /** Extra hint after "Pass --yes to confirm" (such as where to review the plan). */
  hint?: string
  /** The streams asked on (tests); default process.stdin and process.stderr. */
  input?: NodeJS.ReadableStream & { isTTY?: boolean }
  output?: NodeJS.WritableStream & { isTTY?: boolean }
}

/**
 * Ask before billable or destructive work: `question [y/N]` on stderr when stdin and stderr are
 * both terminals, and only `y` or `yes` goes ahead. With `yes` nothing is asked. Not on a terminal,
 * or with --json, it refuses (UsageError, exit 2, naming --yes) rather than wait for an answer that
 * will never come. Any other answer, end of input or Ctrl-C refuses too (exit 2).
 */
export async function confirmYesNo(question: string, options: ConfirmOptions = {}): Promise<void> {
  if (options.yes) return
  const input = options.input ?? process.stdin
  const output = options.output ?? process.stderr
  const nothing = options.nothingDone ?? 'nothing was done'
  const hint = `Pass --yes to confirm.${options.hint ? ` ${options.hint}` : ''}`
  const why = options.json
    ? '--json never prompts'
    : !input.isTTY || !output.isTTY
      ? 'not on a terminal to ask'
      : undefined
  if (why)
    throw new UsageError(`refusing to ${options.action ?? 'go ahead'} without --yes (${why}): ${nothing}`, {
      code: 'needs-confirmation',
      hint,
    })
  const answer = await ask(`${question} [y/N] `, input, output)
  if (!/^y(es)?$/i.test(answer.trim()))
    throw new UsageError(`not confirmed: ${nothing}`, { code: 'not-confirmed', hint })
}

/** One line from `input`; '' on end of input or Ctrl-C. */
function ask(prompt: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<string> {
  const rl = createInterface({ input, output })
  return new Promise((resolve) => {
    let done = false
    const finish = (answer: string) => {
      if (done) return
      done = true
      rl.close()
      resolve(answer)
    }
    rl.on('SIGINT', () => {
      output.write('\n')
      finish('')
    })
    rl.on('close', () => finish(''))
    rl.question(prompt, finish)
  })
}
