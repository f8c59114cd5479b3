import { Box, Text } from 'ink'
import type { ProgressEvent } from '../ops/events.js'
import { formatBytes, formatCount, formatDuration } from '../format/units.js'
import { lagLine, type LagStatus } from './lag-line.js'

export { lagLine, type LagStatus }

export interface ProgressViewProps {
  title?: string
  phase?: string
  tasks: ProgressEvent[]
  warnings: string[]
  /** A following operation's lag (changes not yet applied), when it reports one. */
  lag?: LagStatus
  /** False under NO_COLOR / --no-color: the same lines, no colour attributes. */
  color?: boolean
}

const BAR_WIDTH = 24

export function progressBar(done: number, total: number | undefined, width = BAR_WIDTH): string {
  if (!total) return ''
  const filled = Math.min(width, Math.round((done / total) * width))
  return '█'.repeat(filled) + '░'.repeat(width - filled)
}

/** A count in its unit: bytes in KiB/MiB/GiB (a pass over a file), anything else as 12.3k. */
function amount(n: number, unit: string): string {
  return unit === 'bytes' ? formatBytes(n) : formatCount(n)
}

/** One line per task: bar, counts, rate, ETA, errors; the current phase above, warnings below. */
export function ProgressView({ title, phase, tasks, warnings, lag, color = true }: ProgressViewProps) {
  const paint = (name: string) => (color ? { color: name } : {})
  return (
    <Box flexDirection="column">
      {title ? <Text bold>{title}</Text> : null}
      {phase ? <Text {...paint('cyan')}>{phase}</Text> : null}
      {tasks.map((t) => (
        <Box key={t.task}>
          <Box width={24}>
            <Text>{t.task}</Text>
          </Box>
          {t.total ? <Text>{progressBar(t.done, t.total)} </Text> : null}
          <Text>
            {amount(t.done, t.unit)}
            {t.total ? `/${amount(t.total, t.unit)}` : ''}
            {t.unit === 'bytes' ? '' : ` ${t.unit}`}
          </Text>
          {t.bytes ? <Text dimColor> {formatBytes(t.bytes)}</Text> : null}
          <Text>
            {'  '}
            {amount(t.rate ?? 0, t.unit)}
            {t.unit === 'bytes' ? '/s' : ` ${t.unit}/s`}
          </Text>
          {t.etaSeconds !== undefined ? <Text dimColor> ETA {formatDuration(t.etaSeconds)}</Text> : null}
          {t.errors ? <Text {...paint('red')}> {t.errors} errors</Text> : null}
          {t.detail ? <Text dimColor> {t.detail}</Text> : null}
        </Box>
      ))}
      {lag ? <Text {...paint(lag.pending ? 'yellow' : 'green')}>{lagLine(lag)}</Text> : null}
      {warnings.slice(-5).map((w, i) => (
        <Text key={i} {...paint('yellow')}>
          ! {w}
        </Text>
      ))}
    </Box>
  )
}
