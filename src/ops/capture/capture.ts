import type { WriteStream } from 'node:fs'
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

/**
 * Record the command stream of every primary (MONITOR) into a replayable log in MONITOR's own
 * format, with microsecond timestamps and byte-exact arguments.
 */
export async function capture(deployment: Deployment, options: CaptureOptions): Promise<CaptureReport> {
  refuseWithoutMonitor(deployment)
  const run = new CaptureRun(deployment, options)
  const emit = options.onEvent ?? (() => {})
  emit({
    type: 'warning',
    message:
      'MONITOR costs the server CPU and bandwidth for every command it runs: keep captures short on busy production nodes.',
  })
  const started = Date.now()
  try {
    await run.startMonitors()
    emit({ type: 'phase', phase: 'capturing', detail: `MONITOR on ${run.monitors.length} primaries` })
    await run.untilStopped(emit)
    run.closeMonitors()
    run.throwMonitorFailure()
    // Rejects with the first write error (disk full ...), the temporary file removed.
    await run.file.commit()
  } catch (err) {
    run.closeMonitors()
    run.file.discard()
    throw err
  }
  run.report.seconds = (Date.now() - started) / 1000
  emit(run.tracker.snapshot())
  return run.report
}

/** The capabilities probe already knows when MONITOR is refused: said before any file is opened. */
function refuseWithoutMonitor(deployment: Deployment): void {
  const refused = deployment.capabilities?.refusals.find((r) => r.command === 'monitor')
  if (refused) {
    throw new UsageError(`the endpoint refuses MONITOR (${refused.message})`, {
      code: 'refused',
      hint: 'Capture needs MONITOR on every primary. Grant +monitor to the ACL user, or record the workload at the client side.',
    })
  }
}

/** One capture: the log file, a MONITOR per primary, what was kept and left out, and when to stop. */
class CaptureRun {
  readonly file: AtomicFile
  readonly tracker = new ProgressTracker('capture', 'commands')
  readonly report: CaptureReport
  readonly monitors: MonitorStream[] = []
  private readonly out: WriteStream
  /** The monitors' own client addresses: their lines are kvtop's, not the workload's. */
  private readonly own = new Set<string>()
  private failure: Error | undefined
  private paused = false
  private stop: () => void = () => {}
  private readonly stopped = new Promise<void>((r) => (this.stop = r))

  constructor(
    private readonly deployment: Deployment,
    private readonly options: CaptureOptions,
  ) {
    this.file = AtomicFile.open(options.out, { overwrite: options.overwrite, flagName: '--force' })
    this.out = this.file.writeStream()
    // A write error (disk full ...) is recorded by the file: stop at once, commit() reports it.
    this.out.once('error', () => this.stop())
    this.report = {
      out: options.out,
      nodes: deployment.primaries.map((n) => n.address),
      commands: 0,
      skippedAdmin: 0,
      skippedOwn: 0,
      unparsable: 0,
      bytes: 0,
      seconds: 0,
    }
  }

  /** MONITOR on every primary, through the one dialer (NAT map, TLS, the ACL user, the IAM token). */
  async startMonitors(): Promise<void> {
    for (const node of this.deployment.primaries) {
      const dial = nodeDialOptions(this.deployment.spec, node)
      try {
        const stream = await MonitorStream.start(
          dial.options,
          (line) => this.onLine(line),
          (err) => {
            this.failure ??= err
            this.stop()
          },
        )
        this.monitors.push(stream)
        this.own.add(stream.localAddress)
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
  }

  /** Until the duration is over, the signal aborts, a monitor fails or the file cannot be written. */
  async untilStopped(emit: EventSink): Promise<void> {
    const { durationSeconds, signal } = this.options
    const progress = setInterval(() => emit(this.tracker.snapshot()), 500)
    const timer = durationSeconds === undefined ? undefined : setTimeout(this.stop, durationSeconds * 1000)
    signal?.addEventListener('abort', () => this.stop(), { once: true })
    if (signal?.aborted) this.stop()
    await this.stopped
    clearInterval(progress)
    if (timer) clearTimeout(timer)
  }

  closeMonitors(): void {
    for (const s of this.monitors) s.close()
  }

  /** A monitor that failed (a node gone) fails the capture, unless a write error comes first. */
  throwMonitorFailure(): void {
    if (!this.failure || this.file.error) return
    const { endpoint, timeoutMs } = this.deployment.spec
    throw mapConnectError(this.failure, {
      host: endpoint.host,
      port: endpoint.port,
      tls: endpoint.tls,
      timeoutMs,
    })
  }

  private onLine(line: Buffer): void {
    if (this.file.error) return
    if (this.keeps(line)) this.write(line)
  }

  /** A workload command: parsed, not one of the monitors' own, not an admin command unless asked. */
  private keeps(line: Buffer): boolean {
    let record
    try {
      record = parseMonitorLine(line)
    } catch (err) {
      if (!(err instanceof MonitorParseError)) throw err
      this.report.unparsable++
      return false
    }
    if (this.own.has(record.client)) {
      this.report.skippedOwn++
      return false
    }
    if (!this.options.includeAdmin && isAdminCommand(record.args[0])) {
      this.report.skippedAdmin++
      return false
    }
    return true
  }

  private write(line: Buffer): void {
    this.report.commands++
    this.report.bytes += line.length + 1
    this.tracker.add(1, line.length + 1)
    if (!this.out.write(Buffer.concat([line, Buffer.from('\n')])) && !this.paused) {
      // Lines already read may still come while paused: one 'drain' listener for them all.
      this.paused = true
      for (const s of this.monitors) s.pause()
      this.out.once('drain', () => {
        this.paused = false
        this.monitors.forEach((s) => s.resume())
      })
    }
  }
}
