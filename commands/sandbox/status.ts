import { BaseCommand } from '../../src/base-command.js'
import { sandboxStatus, type SandboxSummary } from '../../src/sandbox/sandbox.js'
import { formatSandbox } from '../../src/sandbox/format.js'
import { kvtopInvocation } from '../../src/invocation.js'

export default class SandboxStatus extends BaseCommand {
  static override summary = 'List sandboxes with their URL and the state of each process'
  static override examples = ['<%= config.bin %> sandbox status', '<%= config.bin %> sandbox status --json']

  async run(): Promise<{ sandboxes: SandboxSummary[] }> {
    await this.parse(SandboxStatus)
    const sandboxes = await sandboxStatus()
    if (sandboxes.length === 0) this.log(`No sandboxes. Start one with: ${kvtopInvocation()} sandbox up`)
    for (const s of sandboxes) {
      this.log(formatSandbox(s))
      this.log('')
    }
    return { sandboxes }
  }
}
