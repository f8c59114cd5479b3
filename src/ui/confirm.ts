import { createInterface } from 'node:readline/promises'
import { UsageError } from '../errors.js'

/**
 * A typed confirmation before a change: the user types `expected` (the cluster's address, the
 * replication group's name). With `yes` it is skipped; when stdin is not a terminal it refuses
 * (exit 2) rather than wait for input that will never come.
 */
export async function confirmTyped(expected: string, what: string, yes: boolean): Promise<void> {
  if (yes) return
  if (!process.stdin.isTTY)
    throw new UsageError(`refusing to change ${what} without confirmation: stdin is not a terminal`, {
      code: 'needs-confirmation',
      hint: 'Pass --yes to confirm (review the plan first with --dry-run).',
    })
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await rl.question(`Type ${expected} to proceed: `)
    if (answer.trim() !== expected) throw new UsageError('not confirmed: nothing was changed')
  } finally {
    rl.close()
  }
}
