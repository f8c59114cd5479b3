import type { SeededTarget } from '../../connect/target.js'
import { RespError } from '../../wire/reply-parser.js'
import { UsageError } from '../../errors.js'
import { OperationContext } from '../context.js'
import { CommandTable } from '../../redis/command-table.js'
import type { ReplayOptions } from './options.js'
import { planReplay, scanBeforeSending, transportError } from './plan.js'
import { Replayer } from './replayer.js'
import { emptyReport, type ReplayReport } from './report.js'
import type { ReplayInput } from './sources.js'

export { parseSpeed, parseUntil, type ReplayOptions } from './options.js'
export type { ReplayReport } from './report.js'

/**
 * Replay a command log onto a target: routed by slot on a cluster (multi-key commands split where
 * that keeps their meaning, MULTI/EXEC kept whole on one node, dataset-wide commands sent to every
 * primary), SELECT tracked and mapped, paced by recorded time when asked, streamed with
 * backpressure so memory stays flat.
 *
 * Nothing is sent before a pre-pass over the whole log and a look at the target (planReplay):
 * dataset-wide commands are refused without `allowFlush`, a target holding keys without `replace`,
 * other dbs on a cluster without a db map. The pre-pass starts at once, while `target` (a
 * deployment being connected) comes; a target that cannot be connected stops it. While replaying
 * (Replayer), every reply is classified (classifyReply): commands refused for now are sent again,
 * in log order, with back-off, for `retryTimeoutMs`; then the replay stops. A SELECT of a db not
 * used before is sent alone and its reply awaited, so a refused one stops the replay before
 * anything meant for that db goes elsewhere. A node that owes replies and sends none for
 * `stallTimeoutMs` stops it too.
 */
export async function replay(
  input: ReplayInput,
  target: SeededTarget | Promise<SeededTarget>,
  options: ReplayOptions,
): Promise<ReplayReport> {
  const context = new OperationContext(options.onEvent)
  const stopScan = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stopScan.signal]) : stopScan.signal
  const scanning = scanBeforeSending(input, options, context, signal)
  // Awaited by planReplay; until then (a target not connected) it must not go unhandled.
  scanning.catch(() => {})
  let deployment: SeededTarget
  try {
    deployment = await target
  } catch (err) {
    stopScan.abort()
    throw err
  }
  // The command table comes while the log is scanned.
  const table = commandTable(deployment)
  table.catch(() => {})
  const report = emptyReport(input, deployment)
  const scan = await planReplay(scanning, deployment, options, report, context)
  return new Replayer(input, deployment, options, await table, scan, report, context).run()
}

/** The target's command table (COMMAND, on the seed connection). */
async function commandTable(target: SeededTarget): Promise<CommandTable> {
  const reply = await target.seed
    .call(['COMMAND'])
    .catch((err: unknown) => Promise.reject(transportError(err, target, target.spec.endpoint)))
  if (reply instanceof RespError)
    throw new UsageError(`the target refuses COMMAND (${reply.message}): nothing was sent`, {
      code: 'refused',
      hint: 'A replay reads the command table to know which commands write and where their keys are.',
    })
  return CommandTable.fromCommandReply(reply)
}
