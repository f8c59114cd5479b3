import { Command } from '@oclif/core'
import type { FlagInput } from '@oclif/core/interfaces'

/** A command with only `flags`, parsed as oclif parses a real one: its values, or the error it throws. */
export function flagProbe<F extends FlagInput>(flags: F) {
  return class Probe extends Command {
    static override flags = flags
    async run() {
      return (await this.parse(Probe)).flags as Record<string, unknown>
    }
  }
}

export async function parseWith(probe: ReturnType<typeof flagProbe<FlagInput>>, argv: string[]) {
  return new probe(argv, {
    bin: 'kvtop',
    runHook: async () => ({ successes: [], failures: [] }),
  } as never).run()
}
