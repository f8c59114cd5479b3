import type { Deployment } from '../../connect/deployment.js'
import { mapConnectError } from '../../wire/connect-errors.js'
import { isCommandRefusal } from '../../wire/classify.js'
import { nodeDialOptions } from '../../wire/dial.js'
import { AtomicFile } from '../../data/atomic-file.js'
import { MonitorStream } from '../../data/monitor/monitor-stream.js'
import { MonitorParseError, parseMonitorLine } from '../../data/monitor/monitor-line.js'
import { UsageError } from '../../errors.js'
import { ProgressTracker } from '../progress.js'
import type { EventSink } from '../events.js'
import { isAdminCommand } from '../../redis/commands.js'

interface CaptureOptions {
  out: string
  /** Stop after this many seconds; undefined: until the signal aborts. */
  durationSeconds?: number
  signal?: AbortSignal
  overwrite?: boolean
  /** Keep administrative commands (INFO, CLIENT, CONFIG ...) too. */
  includeAdmin?: boolean
  onEvent?: EventSink
}

export interface CaptureReport {
  out: string
  nodes: string[]
  commands: number
  skippedAdmin: number
  skippedOwn: number
  unparsable: number
  bytes: number
  seconds: number
}

// Replay finds it here too; the list lives with the other command facts.
export { isAdminCommand }

/**
 * Record the command stream of every primary (MONITOR) into a replayable log in MONITOR's own
 * format, with microsecond timestamps and byte-exact arguments.
 */
export async function capture(deployment: Deployment, options: CaptureOptions): Promise<CaptureReport> {
  const refused = deployment.capabilities?.refusals.find((r) => r.command === 'monitor')
  if (refused) {
    throw new UsageError(`the endpoint refuses MONITOR (${refused.message})`, {
      code: 'refused',
      hint: 'Capture needs MONITOR on every primary. Grant +monitor to the ACL user, or record the workload at the client side.',
    })
  }
  const file = AtomicFile.open(options.out, { overwrite: options.overwrite, flagName: '--force' })
  const emit = options.onEvent ?? (() => {})
  const out = file.writeStream()
  const tracker = new ProgressTracker('capture', 'commands')
  const report: CaptureReport = {
    out: options.out,
    nodes: deployment.primaries.map((n) => n.address),
    commands: 0,
    skippedAdmin: 0,
    skippedOwn: 0,
    unparsable: 0,
    bytes: 0,
    seconds: 0,
  }
  const streams: MonitorStream[] = []
  const own = new Set<string>()
  let failure: Error | undefined
  let paused = false
  let stopResolve: () => void = () => {}
  const stopped = new Promise<void>((r) => (stopResolve = r))
  // A write error (disk full ...) is recorded by the file: stop at once, commit() reports it.
  out.once('error', () => stopResolve())
  const onLine = (line: Buffer) => {
    if (file.error) return
    let record
    try {
      record = parseMonitorLine(line)
    } catch (err) {
      if (err instanceof MonitorParseError) {
        report.unparsable++
        return
      }
      throw err
    }
    if (own.has(record.client)) {
      report.skippedOwn++
      return
    }
    if (!options.includeAdmin && isAdminCommand(record.args[0])) {
      report.skippedAdmin++
      return
    }
    report.commands++
    report.bytes += line.length + 1
    tracker.add(1, line.length + 1)
    if (!out.write(Buffer.concat([line, Buffer.from('\n')])) && !paused) {
      // Lines already read may still come while paused: one 'drain' listener for them all.
      paused = true
      for (const s of streams) s.pause()
      out.once('drain', () => {
        paused = false
        streams.forEach((s) => s.resume())
      })
    }
  }
  const spec = deployment.spec
  emit({
    type: 'warning',
    message:
      'MONITOR costs the server CPU and bandwidth for every command it runs: keep captures short on busy production nodes.',
  })
  const started = Date.now()
  try {
    for (const node of deployment.primaries) {
      // The one dialer's settings: NAT map, TLS, the ACL user and the current IAM token.
      const dial = nodeDialOptions(spec, node)
      try {
        const stream = await MonitorStream.start(dial.options, onLine, (err) => {
          failure ??= err
          stopResolve()
        })
        streams.push(stream)
        own.add(stream.localAddress)
      } catch (err) {
        const message = (err as Error).message
        if (isCommandRefusal({ message })) {
          throw new UsageError(`${node.address} refuses MONITOR: ${message}`, {
            code: 'refused',
            hint: 'Grant +monitor to the ACL user.',
          })
        }
        throw mapConnectError(err, dial.context)
      }
    }
    emit({ type: 'phase', phase: 'capturing', detail: `MONITOR on ${streams.length} primaries` })
    const progress = setInterval(() => emit(tracker.snapshot()), 500)
    const timer =
      options.durationSeconds === undefined
        ? undefined
        : setTimeout(stopResolve, options.durationSeconds * 1000)
    options.signal?.addEventListener('abort', () => stopResolve(), { once: true })
    if (options.signal?.aborted) stopResolve()
    await stopped
    clearInterval(progress)
    if (timer) clearTimeout(timer)
    for (const s of streams) s.close()
    if (failure && !file.error)
      throw mapConnectError(failure, {
        host: spec.endpoint.host,
        port: spec.endpoint.port,
        tls: spec.endpoint.tls,
        timeoutMs: spec.timeoutMs,
      })
    // Rejects with the first write error (disk full ...), the temporary file removed.
    await file.commit()
  } catch (err) {
    for (const s of streams) s.close()
    file.discard()
    throw err
  }
  report.seconds = (Date.now() - started) / 1000
  emit(tracker.snapshot())
  return report
}
