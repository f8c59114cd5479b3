import type { OperationEvent, ProgressEvent, Reporter } from '../ops/events.js'
import { redact } from '../redact.js'
import { formatBytes, formatDuration } from '../format/units.js'
import { lagLine, type LagStatus } from './lag-line.js'

const DEFAULT_INTERVAL_SECONDS = 5

/**
 * Seconds between heartbeat lines: KVTOP_PROGRESS_INTERVAL (fractions allowed), default 5. A value
 * that is not a positive number falls back to the default: a typo must not flood a log.
 */
export function heartbeatIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KVTOP_PROGRESS_INTERVAL
  const seconds = raw === undefined || raw.trim() === '' ? NaN : Number(raw)
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_INTERVAL_SECONDS) * 1000
}

interface HeartbeatOptions {
  intervalMs: number
  write?: (line: string) => void
  now?: () => number
}

/** Tasks that count the same unit, summed: shards of one copy are one figure in a log line. */
function unitSummary(unit: string, tasks: ProgressEvent[]): string {
  const done = tasks.reduce((n, t) => n + t.done, 0)
  const known = tasks.every((t) => t.total !== undefined)
  const total = known ? tasks.reduce((n, t) => n + (t.total ?? 0), 0) : undefined
  const bytes = tasks.reduce((n, t) => n + (t.bytes ?? 0), 0)
  const rate = tasks.reduce((n, t) => n + (t.rate ?? 0), 0)
  const errors = tasks.reduce((n, t) => n + (t.errors ?? 0), 0)
  // A pass over a file counts bytes: in KiB/MiB/GiB, as its size is given everywhere else.
  const inBytes = unit === 'bytes'
  const amount = (n: number) => (inBytes ? formatBytes(n) : String(n))
  const unitSuffix = inBytes ? '' : ` ${unit}`
  const parts = [
    total !== undefined && total > 0
      ? `${amount(done)}/${amount(total)}${unitSuffix} (${((done / total) * 100).toFixed(1)}%)`
      : `${amount(done)}${unitSuffix}`,
  ]
  if (bytes) parts.push(formatBytes(bytes))
  parts.push(inBytes ? `${formatBytes(rate)}/s` : `${Math.round(rate)} ${unit}/s`)
  if (total !== undefined && rate > 0) parts.push(`ETA ${formatDuration(Math.max(0, total - done) / rate)}`)
  if (errors) parts.push(`${errors} errors`)
  return parts.join(', ')
}

/** Beyond this many tasks (shards of a copy), a line sums them per unit instead of naming each. */
const TASKS_NAMED = 3

/**
 * The task the operation marked as totalling the others (snapshot create reports each source and
 * the whole): the one figure a log line needs, where summing would count everything twice.
 */
function overallTask(tasks: ProgressEvent[]): ProgressEvent | undefined {
  return tasks.find((t) => t.overall)
}

/**
 * Tasks by the work they are part of, in order of first appearance: each group (a copy's source
 * nodes) with its unit; the tasks of no group by unit. Summing across groups would add a copy's
 * keys to a verify's: `150000/150000 keys` for 50,000 keys copied then compared both ways.
 */
function partsOfOneWork(tasks: ProgressEvent[]): Map<string, ProgressEvent[]> {
  const parts = new Map<string, ProgressEvent[]>()
  for (const t of tasks) {
    const key = `${t.group ?? ''}\0${t.unit}`
    const list = parts.get(key)
    if (list) list.push(t)
    else parts.set(key, [t])
  }
  return parts
}

/** One figure: a task by name; a group's tasks summed under its name; many tasks of no group summed. */
function figure(parts: ProgressEvent[], named: (t: ProgressEvent) => string): string {
  const { group, unit } = parts[0]
  if (parts.length === 1) return named(parts[0])
  if (group) return `${group} (${parts.length} tasks) ${unitSummary(unit, parts)}`
  return parts.length <= TASKS_NAMED
    ? parts.map(named).join('; ')
    : `${parts.length} tasks ${unitSummary(unit, parts)}`
}

/**
 * One heartbeat line: `TITLE: TASK DONE[/TOTAL] UNIT[ (P%)][, BYTES], RATE UNIT/s[, ETA T][, N errors];
 * ... | elapsed T[ | phase P][ | live: ...]`. A task that totals the others stands for them all; else,
 * with more than three tasks, the tasks of one group are summed (`GROUP (N tasks) DONE[/TOTAL] UNIT
 * ...`), and more than three of no group too (`N tasks ...`, per unit).
 */
export function heartbeatLine(
  title: string | undefined,
  tasks: ProgressEvent[],
  elapsedSeconds: number,
  phase?: string,
  lag?: LagStatus,
): string {
  let figures: string[]
  const named = (t: ProgressEvent) => `${t.task} ${unitSummary(t.unit, [t])}`
  const overall = overallTask(tasks)
  if (overall) figures = [named(overall)]
  else if (tasks.length <= TASKS_NAMED) figures = tasks.map(named)
  else figures = [...partsOfOneWork(tasks)].map(([, parts]) => figure(parts, named))
  const tail = [`elapsed ${formatDuration(elapsedSeconds)}`]
  if (phase) tail.push(`phase ${phase}`)
  if (lag) tail.push(lagLine(lag))
  return `${title ? `${title}: ` : ''}${figures.join('; ') || 'starting'} | ${tail.join(' | ')}`
}

/**
 * The view of an operation when stderr is not a terminal (a log file, a CI job, a pipe): a phase
 * change or a warning as its own line when it happens, and the progress figures as one line every
 * interval (and a last one at the end), so a long job shows it is alive without redrawing anything.
 */
export function createHeartbeatReporter(title: string | undefined, options: HeartbeatOptions): Reporter {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const now = options.now ?? Date.now
  const startedAt = now()
  const tasks = new Map<string, ProgressEvent>()
  let phase: string | undefined
  let lag: LagStatus | undefined
  /** Something to report since the last line. */
  let fresh = false
  const beat = () => {
    if (!fresh || tasks.size === 0) return
    fresh = false
    write(redact(heartbeatLine(title, [...tasks.values()], (now() - startedAt) / 1000, phase, lag)))
  }
  const timer = setInterval(beat, options.intervalMs)
  // A heartbeat never keeps a finished command alive.
  timer.unref()
  return {
    onEvent(event: OperationEvent) {
      if (event.type === 'progress') {
        tasks.set((event as ProgressEvent).task, event as ProgressEvent)
        fresh = true
      } else if (event.type === 'phase') {
        phase = `${event.phase}${event.detail ? `: ${event.detail}` : ''}`
        write(redact(`${title ? `${title}: ` : ''}phase ${phase}`))
      } else if (event.type === 'warning') write(`Warning: ${redact(String(event.message))}`)
      else if (event.type === 'live') {
        lag = {
          pending: Number(event.pending),
          oldestAgeMs: Number(event.oldestAgeMs),
          inSync: Boolean(lag?.inSync && Number(event.pending) === 0),
        }
        fresh = true
      } else if (event.type === 'in-sync') {
        lag = { pending: 0, oldestAgeMs: 0, inSync: true }
        fresh = true
      }
    },
    finish() {
      clearInterval(timer)
      beat()
    },
  }
}
