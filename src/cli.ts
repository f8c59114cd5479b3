import { flush, run, settings } from '@oclif/core'
import { toKvtopError } from './error-mapping.js'
import { ExitCode } from './errors.js'

/**
 * Entry point of the `kvtop` binary. Errors raised inside commands are handled by BaseCommand;
 * what reaches here is oclif's own (unknown command, bad topic) and is mapped the same way.
 */
export async function main(argv: string[]): Promise<void> {
  // The binary always runs the compiled commands, whatever NODE_ENV says (tests set it to 'test').
  settings.enableAutoTranspile = false
  try {
    await run(argv, import.meta.url)
  } catch (err) {
    const e = err as { oclif?: { exit?: number }; code?: string }
    if (e?.code === 'EEXIT' && e.oclif?.exit !== undefined) {
      process.exitCode = e.oclif.exit
    } else {
      const mapped = toKvtopError(err)
      const notFound = /command .* not found/i.test(mapped.message)
      process.exitCode = notFound ? ExitCode.usage : mapped.exitCode
      process.stderr.write(
        `Error: ${mapped.message}\n${notFound ? 'Run kvtop --help for the list of commands.\n' : mapped.hint ? mapped.hint + '\n' : ''}`,
      )
    }
  }
  await flush()
  await drain(process.stdout)
  await drain(process.stderr)
  // Commands close what they open, but a stray socket must not keep a finished CLI alive.
  process.exit(process.exitCode ?? 0)
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writableNeedDrain) return resolve()
    stream.once('drain', () => resolve())
  })
}
