/**
 * Nodes joining and leaving a cluster: where new nodes come from (a kvtop sandbox starts them, or
 * the user names them with --add-node), CLUSTER MEET, CLUSTER REPLICATE, and CLUSTER FORGET on
 * every remaining node followed by stopping (sandbox-owned) or resetting (anyone else's) the node.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { NodeAddress } from '../../connect/client.js'
import type { ClusterNodeRecord } from '../../connect/cluster-parsers.js'
import { formatAddress, parseHostPort } from '../../connect/endpoint.js'
import { RespError } from '../../wire/reply-parser.js'
import { OperationError, UsageError } from '../../errors.js'
import { addSandboxNodes, removeSandboxNode, sandboxOwns } from '../../sandbox/grow.js'
import type { SandboxState } from '../../sandbox/state.js'
import { toText, waitUntil, type ClusterAdmin, type NodeRef } from './admin.js'

export interface NodeSource {
  kind: 'sandbox' | 'add-node' | 'none'
  /** For messages: who provides (and may stop) nodes. */
  description: string
  sandbox?: string
  /** Nodes given with --add-node, in order. */
  given: NodeAddress[]
  acquire(count: number): Promise<NodeAddress[]>
  /** May kvtop stop this node (the sandbox started it)? */
  owns(node: NodeAddress): boolean
  stop(node: NodeAddress): Promise<boolean>
}

export function sandboxSource(state: SandboxState, env: NodeJS.ProcessEnv): NodeSource {
  return {
    kind: 'sandbox',
    description: `sandbox '${state.name}' starts them`,
    sandbox: state.name,
    given: [],
    async acquire(count) {
      if (count === 0) return []
      const nodes = await addSandboxNodes(state.name, count, env)
      return nodes.map((n) => ({ host: '127.0.0.1', port: n.port }))
    },
    owns: (node) => sandboxOwns(state, node.host, node.port),
    stop: (node) => removeSandboxNode(state.name, node.port, env),
  }
}

export function givenSource(
  nodes: NodeAddress[],
  sandbox?: SandboxState,
  env?: NodeJS.ProcessEnv,
): NodeSource {
  const given = [...nodes]
  return {
    kind: nodes.length ? 'add-node' : 'none',
    description: nodes.length ? 'given with --add-node' : 'none available',
    ...(sandbox ? { sandbox: sandbox.name } : {}),
    given,
    async acquire(count) {
      if (count > given.length)
        throw new UsageError(`the plan needs ${count} new nodes but --add-node gave ${given.length}`)
      return given.slice(0, count)
    },
    owns: (node) => Boolean(sandbox && sandboxOwns(sandbox, node.host, node.port)),
    stop: async (node) => (sandbox ? removeSandboxNode(sandbox.name, node.port, env) : false),
  }
}

/** Parse and check --add-node values: reachable, cluster-enabled, empty and alone. */
export async function checkGivenNodes(
  admin: ClusterAdmin,
  values: readonly string[],
): Promise<NodeAddress[]> {
  const nodes: NodeAddress[] = []
  const seen = new Set<string>()
  for (const value of values) {
    const node = parseHostPort(value)
    const address = formatAddress(node.host, node.port)
    if (seen.has(address)) throw new UsageError(`--add-node ${address} is given twice`)
    seen.add(address)
    const info = await admin.info(node)
    if (info.cluster_enabled !== '1')
      throw new UsageError(`--add-node ${address} is not cluster-enabled`, {
        hint: 'Start it with `cluster-enabled yes` (and its own cluster-config-file).',
      })
    const clusterInfo = Object.fromEntries(
      (await admin.text(node, ['CLUSTER', 'INFO']))
        .split(/\r?\n/)
        .map((l) => l.split(':'))
        .filter((p) => p.length === 2),
    ) as Record<string, string>
    if (Number(clusterInfo.cluster_known_nodes) > 1 || Number(clusterInfo.cluster_slots_assigned) > 0)
      throw new UsageError(`--add-node ${address} already belongs to a cluster`, {
        hint: 'Give empty nodes only (CLUSTER RESET on a node you mean to reuse).',
      })
    const keys = Number(await admin.call(node, ['DBSIZE']))
    if (keys > 0)
      throw new UsageError(`--add-node ${address} holds ${keys} keys`, {
        hint: 'New nodes must be empty: FLUSHALL it first if its data is not needed.',
      })
    nodes.push(node)
  }
  return nodes
}

/** CLUSTER MEET wants an IP address. */
async function meetAddress(node: NodeAddress): Promise<string> {
  if (isIP(node.host)) return node.host
  try {
    return (await lookup(node.host)).address
  } catch (err) {
    throw new UsageError(`cannot resolve ${node.host}: ${(err as Error).message}`)
  }
}

/** A node about to join: its id and the cluster bus port it announces (`ip:port@cport`). */
export interface JoiningNode extends NodeRef {
  busPort?: number
}

/** One node's CLUSTER NODES, for explaining why a join has not completed. */
interface NodeView {
  address: string
  records: readonly ClusterNodeRecord[]
}

/** The bus port a node listens on when it does not say: port + 10000. */
function busPortOf(node: { port: number; busPort?: number }): number {
  return node.busPort ?? node.port + 10000
}

/**
 * Why each of `joining` is not (yet) part of the cluster, from every node's CLUSTER NODES (the
 * joining nodes' own views included, by address): one line per node that has not joined, naming
 * it, its bus port and what is missing. Empty when all of them have joined.
 */
export function unjoinedReasons(joining: readonly JoiningNode[], views: readonly NodeView[]): string[] {
  const out: string[] = []
  const joiningAddresses = new Set(joining.map((j) => j.address))
  const members = views.filter((v) => !joiningAddresses.has(v.address))
  for (const j of joining) {
    const bus = busPortOf(j)
    const problems: string[] = []
    const sameNode = (r: ClusterNodeRecord) =>
      r.port === j.port && (r.ip === j.host || r.ip === '' || !isIP(j.host))
    const handshaking = members.flatMap((v) =>
      v.records
        .filter((r) => r.flags.includes('handshake') && sameNode(r))
        .map((r) => ({ view: v.address, dialing: busPortOf(r) })),
    )
    const missing = members.filter((v) => !v.records.some((r) => r.id === j.id))
    const disconnected = members.filter((v) =>
      v.records.some((r) => r.id === j.id && !r.myself && !r.linkConnected),
    )
    if (handshaking.length) {
      const dialing = [...new Set(handshaking.map((h) => h.dialing))]
      const wrong = dialing.filter((d) => d !== bus)
      const views = handshaking.map((h) => h.view)
      const who = names(views, true)
      problems.push(
        `${who} still in handshake with it, dialing bus port ${dialing.join('/')}` +
          (wrong.length ? ` but it announces bus port ${bus}` : ': nothing answered there'),
      )
    } else if (missing.length) {
      problems.push(
        `unknown to ${names(missing.map((v) => v.address))}` +
          (missing.length === members.length
            ? `: no node completed a handshake with its cluster bus at ${formatAddress(j.host, bus)}`
            : ''),
      )
    }
    if (disconnected.length)
      problems.push(`the bus link from ${names(disconnected.map((v) => v.address))} to it is down`)
    const own = views.find((v) => v.address === j.address)
    if (!own) problems.push('it did not answer CLUSTER NODES')
    else {
      const others = own.records.filter((r) => !r.myself)
      if (others.length === 0) problems.push('it has heard from no node of the cluster')
      else {
        const unknown = members.filter((v) => {
          const self = v.records.find((r) => r.myself)
          return self && !others.some((r) => r.id === self.id)
        })
        if (unknown.length) problems.push(`it does not know ${names(unknown.map((v) => v.address))}`)
      }
    }
    if (problems.length)
      out.push(`${j.address} (cluster bus port ${bus}) has not joined: ${problems.join('; ')}`)
  }
  return out
}

/** Addresses for a message (the first three), with `is`/`are` when `verb`. */
function names(addresses: readonly string[], verb = false): string {
  const unique = [...new Set(addresses)]
  const shown = unique.slice(0, 3).join(', ')
  const list = unique.length > 3 ? `${shown} and ${unique.length - 3} more` : shown
  return verb ? `${list} ${unique.length > 1 ? 'are' : 'is'}` : list
}

/**
 * Introduce new nodes to the cluster (CLUSTER MEET ip port cport: each node's own bus port, which
 * is not always port + 10000) and wait until every node knows every other. When they do not agree
 * in time, the error names the node that has not joined and why.
 */
export async function joinNodes(
  admin: ClusterAdmin,
  seed: NodeAddress,
  nodes: readonly NodeAddress[],
  timeoutMs: number,
): Promise<NodeRef[]> {
  const joining: JoiningNode[] = []
  for (const node of nodes) {
    const me = (await admin.nodesView(node)).find((r) => r.myself)
    const id = me?.id ?? (await admin.myId(node))
    joining.push({
      id,
      host: node.host,
      port: node.port,
      address: formatAddress(node.host, node.port),
      ...(me?.busPort ? { busPort: me.busPort } : {}),
    })
  }
  for (const j of joining) {
    const cport = j.busPort === undefined ? [] : [j.busPort]
    await admin.call(seed, ['CLUSTER', 'MEET', await meetAddress(j), j.port, ...cport])
  }
  for (const node of nodes) admin.addSeed(node)
  const include = new Set(joining.map((r) => r.id))
  try {
    await admin.waitConsistent(timeoutMs, { include })
  } catch (err) {
    if (admin.stallError) throw admin.stallError
    const reasons = await explainJoin(admin, joining).catch(() => [])
    if (!reasons.length) throw err
    throw new OperationError(
      `the new node(s) did not join within ${Math.round(timeoutMs / 1000)}s: ${reasons.join('. ')}`,
      {
        code: 'join-failed',
        resumable: true,
        hint: `CLUSTER MEET was sent to ${formatAddress(seed.host, seed.port)} with each node's cluster bus port: every node must reach every other on it (cluster-port, cluster-announce-bus-port, firewalls).`,
        cause: err,
      },
    )
  }
  // The cluster may announce a node by another address (hostname, announced ip): use its view.
  const topology = await admin.topology()
  return joining.map((r) => {
    const seen = topology.nodes.find((n) => n.id === r.id)
    return seen
      ? { id: r.id, host: seen.host, port: seen.port, address: seen.address }
      : { id: r.id, host: r.host, port: r.port, address: r.address }
  })
}

/** Every reachable node's view (members' and joining nodes'), turned into reasons. */
async function explainJoin(admin: ClusterAdmin, joining: readonly JoiningNode[]): Promise<string[]> {
  const topology = await admin.topology()
  const targets: NodeAddress[] = [
    ...topology.nodes.filter((n) => n.health !== 'failed' && !joining.some((j) => j.id === n.id)),
    ...joining,
  ]
  const views: NodeView[] = []
  for (const t of targets) {
    const address = formatAddress(t.host, t.port)
    if (views.some((v) => v.address === address)) continue
    const records = await admin.nodesView(t).catch(() => undefined)
    if (records) views.push({ address, records })
  }
  return unjoinedReasons(joining, views)
}

/**
 * Wait until nodes report the cluster ok. A new primary reports it down for a while after it
 * starts (and until it has the full slot map): RESTORE into it fails with CLUSTERDOWN until then.
 */
export async function waitClusterOk(
  admin: ClusterAdmin,
  nodes: readonly NodeAddress[],
  timeoutMs: number,
): Promise<void> {
  await waitUntil('the new primaries to see the cluster as ok', timeoutMs, async () => {
    for (const node of nodes) {
      const state = /cluster_state:(\w+)/.exec(await admin.text(node, ['CLUSTER', 'INFO']))?.[1]
      if (state !== 'ok') return false
    }
    return true
  })
}

/** Make `replica` a replica of `primaryId` (retried while the replica has not heard of the primary yet). */
export async function makeReplica(
  admin: ClusterAdmin,
  replica: NodeAddress,
  primaryId: string,
  timeoutMs: number,
): Promise<void> {
  await waitUntil(
    `${formatAddress(replica.host, replica.port)} to replicate ${primaryId}`,
    timeoutMs,
    async () => {
      const reply = await admin.tryCall(replica, ['CLUSTER', 'REPLICATE', primaryId])
      if (!(reply instanceof RespError)) return true
      if (/Unknown node/i.test(reply.message)) return false
      throw new OperationError(
        `CLUSTER REPLICATE on ${formatAddress(replica.host, replica.port)} failed: ${reply.message}`,
      )
    },
  )
}

/** Wait until every replica has a live link to its primary and no sync in progress. */
export async function waitReplicasSynced(
  admin: ClusterAdmin,
  replicas: readonly NodeAddress[],
  timeoutMs: number,
): Promise<void> {
  await waitUntil(
    'the new replicas to finish their initial sync',
    timeoutMs,
    async () => {
      for (const r of replicas) {
        const info = await admin.info(r, 'replication')
        if (info.role !== 'slave' || info.master_link_status !== 'up' || info.master_sync_in_progress !== '0')
          return false
      }
      return true
    },
    300,
  )
}

export interface RemovedNode {
  id: string
  address: string
  action: 'stopped' | 'reset' | 'left-running'
}

/**
 * Remove nodes from the cluster: every remaining node forgets them (a remaining replica of a
 * removed primary is first moved to the primary with the fewest replicas), then each removed node
 * is stopped when the sandbox owns it, or reset (CLUSTER RESET SOFT: it forgets the cluster and
 * stays up, empty) when it belongs to someone else.
 */
export async function removeNodes(
  admin: ClusterAdmin,
  source: NodeSource,
  removing: readonly NodeRef[],
  timeoutMs: number,
): Promise<RemovedNode[]> {
  if (removing.length === 0) return []
  const gone = new Set(removing.map((r) => r.id))
  const topology = await admin.topology()
  const staying = topology.nodes.filter((n) => !gone.has(n.id) && n.health !== 'failed')
  const stayingPrimaries = staying.filter((n) => n.role === 'primary' && n.slots.length > 0)
  // A replica cannot forget its own primary.
  for (const replica of staying.filter((n) => n.role === 'replica' && n.primaryId && gone.has(n.primaryId))) {
    const target = [...stayingPrimaries].sort(
      (a, b) =>
        staying.filter((n) => n.primaryId === a.id).length -
        staying.filter((n) => n.primaryId === b.id).length,
    )[0]
    if (!target) throw new OperationError(`no primary left for replica ${replica.address}`)
    await makeReplica(admin, replica, target.id, timeoutMs)
  }
  for (const r of removing) admin.dropSeed(r)
  // Every staying node forgets every removed node; the 60-second ban keeps gossip from bringing them back.
  await Promise.all(
    staying.map(async (node) => {
      for (const r of removing) {
        const reply = await admin.tryCall(node, ['CLUSTER', 'FORGET', r.id])
        if (reply instanceof RespError && !/Unknown node/i.test(reply.message))
          throw new OperationError(`CLUSTER FORGET ${r.id} on ${node.address}: ${reply.message}`, {
            resumable: true,
          })
      }
    }),
  )
  const removed: RemovedNode[] = []
  for (const r of removing) {
    if (source.owns(r)) {
      await source.stop(r)
      removed.push({ id: r.id, address: r.address, action: 'stopped' })
      continue
    }
    const info = await admin.info(r, 'replication').catch(() => undefined)
    if (!info) {
      removed.push({ id: r.id, address: r.address, action: 'left-running' })
      continue
    }
    if (info.role === 'master' && Number(await admin.call(r, ['DBSIZE'])) > 0) {
      // Never reset a primary that still holds keys: leave it as is and say so.
      removed.push({ id: r.id, address: r.address, action: 'left-running' })
      continue
    }
    await admin.call(r, ['CLUSTER', 'RESET', 'SOFT'])
    removed.push({ id: r.id, address: r.address, action: 'reset' })
  }
  await admin.waitConsistent(timeoutMs, { exclude: gone })
  return removed
}

/** `CLUSTER COUNTKEYSINSLOT` for many slots on one node, pipelined. */
export async function countKeysInSlots(
  admin: ClusterAdmin,
  node: NodeAddress,
  slots: readonly number[],
): Promise<number[]> {
  const replies = await admin.pipeline(
    node,
    slots.map((s) => ['CLUSTER', 'COUNTKEYSINSLOT', s]),
  )
  return replies.map((r) => (typeof r === 'number' ? r : Number(toText(r)) || 0))
}
