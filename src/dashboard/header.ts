import { formatBytesShort, formatCountShort } from '../format/units.js'
import { dataPlaneLine, fmtPercent, fmtTime } from '../metrics/format.js'
import type { Snapshot } from '../metrics/types.js'
import { esc, plainLength, wrapText } from './markup.js'
import type { ViewState } from './view-state.js'

/** The dashboard's header: the deployment, the cluster's figures and the view's state, fitted to the width. */

function sortLabel(state: ViewState): string {
  return `sort: ${state.sort}${state.descending ? ' desc' : ''}${state.filter ? ` | filter: ${state.filter}` : ''}${state.paused ? ' | PAUSED' : ''}`
}

interface HeaderPart {
  text: string
  /** Lower stays longer when the line is too narrow for every part. */
  priority: number
}

/** The parts that fit on one line of `room` characters, in their own order, dropping the least important first. */
function fitParts(parts: HeaderPart[], room: number): string {
  const kept = [...parts]
  const length = () => kept.reduce((sum, p, i) => sum + plainLength(p.text) + (i ? 2 : 0), 0)
  while (kept.length > 1 && length() > room) {
    const worst = kept.reduce((w, p, i) => (p.priority > kept[w].priority ? i : w), 0)
    kept.splice(worst, 1)
  }
  return kept.map((p) => p.text).join('  ')
}

/** One part a line may hold, or none (`[]`) where the snapshot has nothing to say. */
type Part = HeaderPart[]

/** Every part the header may show, by name, each with how long it stays when room runs out. */
function headerParts(s: Snapshot, state: ViewState): Record<string, Part> {
  const d = s.deployment
  const c = s.cluster
  const allUp = c.nodesUp === d.nodes
  const p = (text: string | undefined, priority: number): Part => (text ? [{ text, priority }] : [])
  return {
    kvtop: p('{bold}kvtop{/bold}', 0),
    up: p(`${allUp ? '' : '{red-fg}'}${c.nodesUp}/${d.nodes} nodes up${allUp ? '' : '{/red-fg}'}`, 0),
    clusterState: p(
      d.clusterState
        ? `state ${d.clusterState === 'ok' ? d.clusterState : `{red-fg}${d.clusterState}{/red-fg}`}`
        : undefined,
      1,
    ),
    alerts: p(`alerts ${s.alerts.length ? `{red-fg}${s.alerts.length}{/red-fg}` : '0'}`, 0),
    ops: p(`ops/s ${formatCountShort(c.opsPerSec)}`, 1),
    mem: p(
      `mem ${formatBytesShort(c.memoryUsed)}${c.maxmemory ? `/${formatBytesShort(c.maxmemory)}` : ''}`,
      3,
    ),
    hit: p(`hit ${fmtPercent(c.hitRatio)}`, 4),
    shards: p(`${d.shards} shard${d.shards === 1 ? '' : 's'}`, 3),
    mode: p(d.mode, 5),
    engine: p(d.engine && d.version ? `${d.engine} ${d.version}` : '?', 6),
    provider: p(d.provider ?? '?', 7),
    slots: p(d.slotsCovered !== undefined ? `slots ${d.slotsCovered}/16384` : undefined, 6),
    keys: p(`keys ${formatCountShort(c.keys)}`, 8),
    clients: p(`clients ${formatCountShort(c.connectedClients)}`, 8),
    round: p(`round ${s.roundMs}ms @ ${fmtTime(s.at)}`, 9),
    // Paused and a filter change what is on screen: they stay; the sort order is on the table already.
    paused: p(state.paused ? 'PAUSED' : undefined, 0),
    filter: p(state.filter ? `filter: ${state.filter}` : undefined, 1),
    sort: p(`sort: ${state.sort}${state.descending ? ' desc' : ''}`, 9),
  }
}

/** Two lines: the deployment, then the figures with the view's state. */
const TWO_LINES = [
  ['kvtop', 'provider', 'engine', 'mode', 'shards', 'up', 'slots', 'clusterState'],
  ['ops', 'hit', 'mem', 'keys', 'clients', 'alerts', 'round'],
] as const

/** One line, what matters in an incident first. */
const ONE_LINE = [
  'kvtop',
  'up',
  'clusterState',
  'alerts',
  'paused',
  'filter',
  'ops',
  'mem',
  'hit',
  'shards',
  'mode',
  'engine',
  'provider',
  'slots',
  'keys',
  'clients',
  'sort',
  'round',
] as const

/**
 * The header's lines: two where the screen is tall enough, else one (`maxLines` 1) with what matters
 * in an incident kept first: nodes up, cluster state, alerts, ops/s. `width` is the header's inner
 * width; the CloudWatch-only line wraps to it.
 */
export function headerLines(s: Snapshot, state: ViewState, width = Infinity, maxLines = 2): string[] {
  if (s.dataPlane) return cloudWatchOnlyHeader(s, state, width)
  const parts = headerParts(s, state)
  const pick = (names: readonly string[]) => names.flatMap((name) => parts[name])
  // blessed wraps a line as long as the box is wide: one column less than the width.
  const room = width - 1
  if (maxLines >= 2) {
    const [first, second] = TWO_LINES
    return [
      fitParts(pick(first), room),
      fitParts([...pick(second), { text: sortLabel(state), priority: 0 }], room),
    ]
  }
  return [fitParts(pick(ONE_LINE), room)]
}

/** The header when only CloudWatch can be seen: the deployment as AWS describes it, and the line saying why. */
function cloudWatchOnlyHeader(s: Snapshot, state: ViewState, width: number): string[] {
  const d = s.deployment
  const ext = s.external
  const parts = [
    `{bold}kvtop{/bold}`,
    d.provider ?? '?',
    d.engine && d.version ? `${d.engine} ${d.version}` : (d.engine ?? '?'),
    d.mode,
    `${d.shards} shard${d.shards === 1 ? '' : 's'}`,
    `${d.nodes} node${d.nodes === 1 ? '' : 's'} (AWS)`,
    ext
      ? `${ext.source} ${ext.at ? `as of ${fmtTime(ext.at)}` : 'no data'}${ext.error ? ` {red-fg}${esc(ext.error)}{/red-fg}` : ''}`
      : undefined,
    sortLabel(state),
  ].filter((p): p is string => Boolean(p))
  // One line: the parts that fit (a wrapped line would push the notice out of the header). blessed
  // wraps a line as long as the box is wide: one column less than the width.
  const room = width - 1
  let first = parts[0]
  for (const p of parts.slice(1)) {
    if (plainLength(first) + 2 + plainLength(p) > room) break
    first += `  ${p}`
  }
  const notice = Number.isFinite(width)
    ? wrapText(dataPlaneLine(s.dataPlane!), Math.max(20, room), '  ').slice(0, 3)
    : [dataPlaneLine(s.dataPlane!)]
  return [first, ...notice.map((l) => `{yellow-fg}${esc(l)}{/yellow-fg}`)]
}
