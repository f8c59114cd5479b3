import type { PollCommand, PollReply } from '../../../src/metrics/connection.js'
import type { LargeLogKind } from '../../../src/metrics/log-reply.js'
import { FakeNode } from './fake-node.js'
import { jsonFixture, toReply } from './fixtures.js'

export const commandLogErrors = jsonFixture<{ errors: Record<string, string> }>(
  'commandlog/unknown-command.json',
).errors

/**
 * A simulated node that says in INFO which engine and version it is and, where that version has
 * COMMANDLOG (Valkey 8.1+), answers COMMANDLOG GET from its logs (newest first). Every COMMANDLOG
 * command it receives is recorded. `refuse` makes it answer with that error instead (a renamed
 * command, an ACL); a version without COMMANDLOG answers "unknown command" like the real servers.
 */
export class LoggingNode extends FakeNode {
  received: string[][] = []
  logs: Record<LargeLogKind, unknown[]> = { 'large-request': [], 'large-reply': [] }
  refuse?: string

  constructor(
    port: number,
    readonly engine: 'valkey' | 'redis',
    readonly version: string,
  ) {
    super(port)
  }

  override info(): string {
    const text = super.info()
    return this.engine === 'redis'
      ? text.replace(/redis_version:.*/, `redis_version:${this.version}`)
      : text.replace(
          /redis_version:.*/,
          `redis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:${this.version}`,
        )
  }

  protected override reply(c: PollCommand): PollReply {
    if (c.args[0].toUpperCase() !== 'COMMANDLOG') return super.reply(c)
    this.received.push(c.args)
    const hasIt = this.engine === 'valkey' && !/^([0-7]\.|8\.0\.)/.test(this.version)
    if (!hasIt) return { ok: false, error: commandLogErrors['valkey-8.0'] }
    if (this.refuse) return { ok: false, error: this.refuse }
    this.count('commandlog|get')
    const [, , count, kind] = c.args
    const log = this.logs[kind as LargeLogKind]
    return { ok: true, value: Number(count) < 0 ? log : log.slice(0, Number(count)) }
  }

  /** A new entry, as the server would log it (reply form, newest first). */
  log(kind: LargeLogKind, id: number, bytes: number, args: string[]): void {
    this.logs[kind].unshift(toReply([id, Math.floor(Date.now() / 1000), bytes, args, '10.0.3.1:5000', '']))
  }
}
