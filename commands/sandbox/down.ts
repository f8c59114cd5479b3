import * as Flags from '@oclif/core/flags'
import { BaseCommand } from '../../src/base-command.js'
import { sandboxDown, sandboxStatus, type SandboxDownResult } from '../../src/sandbox/sandbox.js'

export default class SandboxDown extends BaseCommand {
  static override summary = 'Stop a sandbox: exactly the processes it started, then remove its files'
  static override examples = [
    '<%= config.bin %> sandbox down',
    '<%= config.bin %> sandbox down --name mdb',
    '<%= config.bin %> sandbox down --all',
  ]
  static override flags = {
    name: Flags.string({ description: 'Sandbox name', default: 'default' }),
    all: Flags.boolean({ description: 'Stop every sandbox' }),
  }

  async run(): Promise<{ sandboxes: SandboxDownResult[] }> {
    const { flags } = await this.parse(SandboxDown)
    const names = flags.all ? (await sandboxStatus()).map((s) => s.name) : [flags.name]
    const results: SandboxDownResult[] = []
    for (const name of names) {
      const result = await sandboxDown(name)
      results.push(result)
      this.log(`Sandbox '${name}' stopped (${result.stopped.length} processes).`)
    }
    if (flags.all && names.length === 0) this.log('No sandboxes.')
    return { sandboxes: results }
  }
}
