import { formatAddress } from '../connect/endpoint.js'
import { ConnectError } from '../errors.js'
import { translateAddress, type ConnectionSpec } from '../wire/spec.js'
import type { Snapshot } from './types.js'

/** The nodes a round could not read, with why. */
export function unreadNodes(snap: Snapshot): { node: string; address: string; error: string }[] {
  return snap.nodes
    .filter((n) => !n.up)
    .map((n) => ({ node: n.id, address: n.address, error: n.error ?? n.state }))
}

const REACHABLE_HINT = 'Check that the nodes are up and reachable from here (--timeout waits longer).'

/**
 * A round in which no node answered: nothing was read, so a one-shot command fails (exit 3) instead
 * of answering from no data. Undefined when some node answered. The nodes polled are the addresses
 * the deployment announces; when none of them is the endpoint that answered discovery and none is
 * mapped, they are likely addresses of another network (a NAT, Docker, a tunnel): the hint says how
 * to map them.
 */
export function noNodeAnswered(
  snap: Snapshot,
  spec?: Pick<ConnectionSpec, 'endpoint' | 'natMap'>,
): ConnectError | undefined {
  const unread = unreadNodes(snap)
  if (!snap.nodes.length || unread.length < snap.nodes.length) return undefined
  const shown = unread.slice(0, 5).map((e) => `${e.address} (${e.error})`)
  if (unread.length > 5) shown.push(`and ${unread.length - 5} more`)
  return new ConnectError(`no node answered: ${shown.join(', ')}`, {
    hint: spec && announcedElsewhere(snap, spec) ? natHint(snap, spec) : REACHABLE_HINT,
  })
}

function announcedElsewhere(snap: Snapshot, spec: Pick<ConnectionSpec, 'endpoint' | 'natMap'>): boolean {
  const seed = formatAddress(spec.endpoint.host, spec.endpoint.port)
  return snap.nodes.every((n) => n.address !== seed && !spec.natMap.has(n.address))
}

function natHint(snap: Snapshot, spec: Pick<ConnectionSpec, 'endpoint' | 'natMap'>): string {
  const seed = translateAddress(spec.natMap, spec.endpoint)
  return (
    `${formatAddress(seed.host, seed.port)} answered, but the deployment announces its nodes as ` +
    `${snap.nodes
      .slice(0, 3)
      .map((n) => n.address)
      .join(', ')}${snap.nodes.length > 3 ? ` and ${snap.nodes.length - 3} more` : ''}. ` +
    'If those addresses cannot be reached from here (a NAT, Docker, a tunnel), map each one with ' +
    '--nat-map announced-host:port=reachable-host:port; otherwise check that the nodes are up (--timeout waits longer).'
  )
}
