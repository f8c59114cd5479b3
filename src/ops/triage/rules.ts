import type { CommandLogGroup } from '../../metrics/slowlog.js'
import { formatBytes } from '../../format/units.js'
import type {
  CloudWatchSummary,
  Finding,
  LargeCommandSummary,
  OpenSlot,
  Severity,
  TriageInput,
  TriageReport,
} from './types.js'

/** Thresholds of the rules: chosen to flag what an on-call engineer should look at now. */
export const LIMITS = {
  lagSeconds: 5,
  lagSecondsCritical: 30,
  lagBytes: 8 * 1024 * 1024,
  memoryFraction: 0.9,
  memoryFractionCritical: 0.97,
  fragmentation: 1.5,
  fragmentationMinBytes: 100 * 1024 * 1024,
  cpuPercent: 80,
  backlogHeadroomSeconds: 60,
  slowUs: 100_000,
  /** COMMANDLOG (Valkey 8.1+): a request or reply this big is a warning, smaller logged ones a note. */
  largeRequestBytes: 1024 * 1024,
  largeReplyBytes: 1024 * 1024,
  commandP99Us: 10_000,
  bigKeyBytes: 1024 * 1024,
  bigKeyBytesCritical: 64 * 1024 * 1024,
  outputBufferBytes: 16 * 1024 * 1024,
  queryBufferBytes: 64 * 1024 * 1024,
  clientsFraction: 0.8,
  hotKeyFreq: 100,
}

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 }

/** Findings sorted for reading: critical first, then warnings, then notes; stable within a level. */
export function rankFindings(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
    .map((x) => x.f)
}

const ms = (us: number) => `${(us / 1000).toFixed(us >= 100_000 ? 0 : 1)} ms`
const pct = (x: number) => `${Math.round(x * 100)}%`

/** ` (3 entries on a, b, c, ...)` or ` (1 entry)`: where a logged pattern was seen, the worst node first. */
function seenOn(count: number, worst: string, nodes: string[]): string {
  const others = nodes.filter((a) => a !== worst)
  return others.length
    ? ` (${count} entries on ${[worst, ...others].slice(0, 3).join(', ')}${nodes.length > 3 ? ', ...' : ''})`
    : ` (${count} entr${count === 1 ? 'y' : 'ies'})`
}

const caller = (e: { client: string; clientName?: string }) =>
  `client ${e.client}${e.clientName ? ` "${e.clientName}"` : ''}`

/** A pattern of COMMANDLOG's large-request or large-reply log: a warning from LIMITS on, a note below. */
function largeCommandFinding(g: CommandLogGroup): Finding {
  const reply = g.kind === 'large-reply'
  const top = g.largest
  const where = seenOn(g.count, top.address, g.nodes)
  return {
    severity: g.maxBytes >= (reply ? LIMITS.largeReplyBytes : LIMITS.largeRequestBytes) ? 'warning' : 'info',
    category: 'workload',
    node: top.address,
    summary: reply
      ? `large reply: ${g.pattern} replied up to ${formatBytes(g.maxBytes)} on ${top.address}${where}`
      : `large request: ${g.pattern} sent up to ${formatBytes(g.maxBytes)} to ${top.address}${where}`,
    why: reply
      ? 'The node builds the whole reply in memory while other clients wait, and the output buffer grows toward client-output-buffer-limit.'
      : 'The node reads and parses the whole request before running it: the query buffer grows toward client-query-buffer-limit, and a large write is replicated to every replica.',
    action: reply
      ? `Find the caller (${caller(top)}) and read in pages (HSCAN, ZRANGE ... LIMIT, LRANGE in ranges, smaller MGET batches) or split the value.`
      : `Find the caller (${caller(top)}) and split the write (smaller values, smaller batches), or compress values client-side.`,
    evidence: { kind: g.kind, maxBytes: g.maxBytes, count: g.count, nodes: g.nodes },
  }
}

function largeCommandSummary(g: CommandLogGroup): LargeCommandSummary {
  return {
    pattern: g.pattern,
    count: g.count,
    maxBytes: g.maxBytes,
    nodes: g.nodes,
    example: g.largest.args.join(' '),
  }
}

/** Every rule over the collected facts. Pure: the unit tests feed it fixtures. */
export function evaluate(input: TriageInput): Finding[] {
  const out: Finding[] = []
  const s = input.snapshot
  const add = (f: Finding) => out.push(f)
  const byId = new Map(s.nodes.map((n) => [n.id, n]))

  // Topology and health.
  if (s.deployment.mode === 'cluster') {
    if (s.deployment.clusterState && s.deployment.clusterState !== 'ok') {
      add({
        severity: 'critical',
        category: 'topology',
        summary: `cluster_state is ${s.deployment.clusterState}`,
        why: 'The cluster refuses commands for some or all slots until the state is ok again.',
        action: 'Find the failed primaries below; restore them or fail over to a replica (CLUSTER FAILOVER).',
      })
    }
    if (s.deployment.slotsCovered !== undefined && s.deployment.slotsCovered < 16384) {
      add({
        severity: 'critical',
        category: 'topology',
        summary: `${16384 - s.deployment.slotsCovered} of 16384 slots are not served`,
        why: 'Keys in uncovered slots cannot be read or written (CLUSTERDOWN).',
        action:
          'Assign the slots to a primary (kvtop scale --fix, or CLUSTER ADDSLOTS) once the owner is known lost.',
        evidence: { slotsCovered: s.deployment.slotsCovered },
      })
    }
  }
  for (const n of s.nodes) {
    const failed = n.health === 'failed' || n.health === 'pfail'
    if (!n.up || failed) {
      const primary = n.role === 'primary'
      add({
        severity: primary ? 'critical' : 'warning',
        category: 'topology',
        node: n.address,
        summary: `${n.role} ${n.address} (shard ${n.shard}) is down${failed ? ` (cluster marks it ${n.health})` : ''}${n.error ? `: ${n.error}` : ''}`,
        why: primary
          ? 'Its slots are unavailable until a replica is promoted.'
          : 'Its shard has less redundancy: one more failure can lose the shard, and reads sent to it fail.',
        action: primary
          ? 'Check the host and process; if it does not come back, promote a replica (CLUSTER FAILOVER FORCE on it).'
          : 'Restart the replica or replace it (kvtop scale --replicas); it resyncs from its primary.',
        evidence: { health: n.health, state: n.state },
      })
    }
  }
  for (const f of openSlotFindings(input.openSlots)) add(f)
  const views = input.extras.filter((e) => e.slotMapView !== undefined)
  const distinct = new Set(views.map((e) => e.slotMapView))
  if (distinct.size > 1) {
    const counts = new Map<string, string[]>()
    for (const v of views) counts.set(v.slotMapView!, [...(counts.get(v.slotMapView!) ?? []), v.address])
    const minority = [...counts.values()].sort((a, b) => a.length - b.length)[0]
    add({
      severity: 'warning',
      category: 'topology',
      node: minority[0],
      summary: `nodes disagree about the slot map (${distinct.size} versions; ${minority.join(', ')} differ from the majority)`,
      why: 'Clients get MOVED loops or errors depending on the node they ask; usually a move or failover in flight.',
      action:
        'Wait a few seconds and run triage again; if it persists, kvtop scale --fix or CLUSTER SETSLOT ... NODE on the odd nodes.',
    })
  }
  // Replicas sharing a host with their primary, grouped per host: a 90-node sandbox is one finding, not 60.
  const sameHost = new Map<string, { replica: string; primary: string }[]>()
  for (const n of s.nodes) {
    if (n.role !== 'replica' || !n.primaryId) continue
    const primary = byId.get(n.primaryId)
    if (primary && primary.host === n.host)
      sameHost.set(n.host, [
        ...(sameHost.get(n.host) ?? []),
        { replica: n.address, primary: primary.address },
      ])
  }
  for (const [host, pairs] of sameHost) {
    const loopback = /^(127\.|::1|localhost)/.test(host)
    const one = pairs.length === 1
    add({
      severity: 'info',
      category: 'topology',
      ...(one ? { node: pairs[0].replica } : {}),
      summary: one
        ? `replica ${pairs[0].replica} runs on the same host as its primary ${pairs[0].primary}`
        : `${pairs.length} replicas run on the same host as their primaries (${host}): ${pairs
            .slice(0, 3)
            .map((p) => `${p.replica} -> ${p.primary}`)
            .join(', ')}${pairs.length > 3 ? ', ...' : ''}`,
      why: loopback
        ? 'Expected for a local sandbox; in production one host failure would take the whole shard.'
        : 'One host failure takes the primary and its replica: the shard is lost.',
      action: 'Place replicas on other hosts (other availability zones on AWS).',
      evidence: { host, pairs },
    })
  }

  // Replication.
  for (const shard of s.replication) {
    for (const r of shard.replicas) {
      if (r.link === 'down') {
        add({
          severity: 'critical',
          category: 'replication',
          node: r.address,
          summary: `replication link of ${r.address} to ${shard.primaryAddress ?? 'its primary'} is down${r.linkDownSinceSeconds ? ` for ${r.linkDownSinceSeconds}s` : ''}`,
          why: 'The replica serves stale data and cannot take over without losing writes.',
          action:
            'Check the network and the primary; the replica resyncs once the link is back (a full resync if the backlog was outrun).',
        })
        continue
      }
      const sec = r.lagSeconds ?? 0
      const bytes = r.lagBytes ?? 0
      if (sec >= LIMITS.lagSeconds || bytes >= LIMITS.lagBytes) {
        add({
          severity: sec >= LIMITS.lagSecondsCritical ? 'critical' : 'warning',
          category: 'replication',
          node: r.address,
          summary: `replica ${r.address} lags ${formatBytes(bytes)} (${sec.toFixed(1)}s) behind ${shard.primaryAddress}`,
          why: 'Reads from it are stale, and a failover now would lose the writes not yet replicated.',
          action: 'Look for a slow replica host, big writes or a saturated network; reduce write bursts.',
          evidence: { lagBytes: bytes, lagSeconds: sec },
        })
      }
      if (
        r.fullResyncRisk &&
        r.backlogHeadroomSeconds !== undefined &&
        r.backlogHeadroomSeconds < LIMITS.backlogHeadroomSeconds
      ) {
        add({
          severity: 'warning',
          category: 'replication',
          node: r.address,
          summary: `the backlog of ${shard.primaryAddress} covers only ${Math.max(0, Math.round(r.backlogHeadroomSeconds))}s of writes for ${r.address}`,
          why: 'If the link drops for longer, the replica needs a full resync (a fork and a full copy of the dataset).',
          action:
            'Raise repl-backlog-size (ElastiCache: parameter group) to a few minutes of the write rate.',
          evidence: { backlog: shard.backlog?.size, writeBytesPerSec: shard.writeBytesPerSec },
        })
      }
    }
    // One full sync per replica start is how replication begins; more than that is worth a look.
    if (shard.fullSyncs && shard.fullSyncs > shard.replicas.length) {
      add({
        severity: 'info',
        category: 'replication',
        node: shard.primaryAddress,
        summary: `${shard.primaryAddress} served ${shard.fullSyncs} full resync${shard.fullSyncs === 1 ? '' : 's'} since it started`,
        why: 'Each one forks and sends the whole dataset; more than one per replica start points to a small backlog or flapping links.',
        action: 'Compare with replica restarts; if they keep coming, raise repl-backlog-size.',
      })
    }
  }

  // Resources.
  for (const n of s.nodes) {
    if (!n.up) continue
    const m = n.memory
    if (m.usedFraction !== undefined && m.usedFraction >= LIMITS.memoryFraction) {
      add({
        severity: m.usedFraction >= LIMITS.memoryFractionCritical ? 'critical' : 'warning',
        category: 'resources',
        node: n.address,
        summary: `memory ${formatBytes(m.used ?? 0)} of ${formatBytes(m.maxmemory ?? 0)} maxmemory (${pct(m.usedFraction)}), policy ${m.policy ?? 'unknown'}`,
        why:
          m.policy === 'noeviction'
            ? 'At the limit, writes fail with OOM errors.'
            : 'At the limit, keys are evicted to make room: data the application expects may vanish.',
        action: 'Find the big keys below, add TTLs, scale out (more shards) or up (a bigger node type).',
        evidence: { used: m.used, maxmemory: m.maxmemory },
      })
    }
    if ((n.evictionsPerSec ?? 0) > 0) {
      add({
        severity: 'warning',
        category: 'resources',
        node: n.address,
        summary: `${n.address} evicts ${n.evictionsPerSec!.toFixed(1)} keys/s (${m.policy ?? 'policy unknown'})`,
        why: 'The node is full: keys are being dropped, and the cache hit ratio suffers.',
        action: 'Add memory (scale out or up) or shorten TTLs; check for a key that grew unexpectedly.',
      })
    }
    if (
      m.fragmentationRatio !== undefined &&
      m.fragmentationRatio >= LIMITS.fragmentation &&
      (m.rss ?? 0) - (m.used ?? 0) >= LIMITS.fragmentationMinBytes
    ) {
      add({
        severity: 'warning',
        category: 'resources',
        node: n.address,
        summary: `fragmentation ${m.fragmentationRatio.toFixed(2)} on ${n.address} (RSS ${formatBytes(m.rss ?? 0)} for ${formatBytes(m.used ?? 0)} used)`,
        why: 'Memory the OS counts but the dataset does not use: the node can run out of memory early.',
        action: 'Enable activedefrag where allowed, or fail over to a fresh replica.',
      })
    }
    if ((n.cpuPercent ?? 0) >= LIMITS.cpuPercent) {
      add({
        severity: 'warning',
        category: 'resources',
        node: n.address,
        summary: `${n.address} uses ${Math.round(n.cpuPercent!)}% CPU`,
        why: 'Redis runs commands on one thread: near 100% every command waits and latency climbs.',
        action: 'Look at the top commands by time and the slowlog below; spread hot keys or scale out.',
      })
    }
  }
  for (const e of input.extras) {
    if (e.rejectedConnections) {
      add({
        severity: 'warning',
        category: 'resources',
        node: e.address,
        summary: `${e.address} rejected ${e.rejectedConnections} connections since it started (maxclients ${e.maxclients ?? '?'})`,
        why: 'Clients were refused: application errors, often connection storms or leaks.',
        action: 'Use connection pools; raise maxclients where allowed.',
      })
    }
  }

  // Workload.
  for (const n of s.nodes) {
    if ((n.errorsPerSec ?? 0) > 0) {
      add({
        severity: 'warning',
        category: 'workload',
        node: n.address,
        summary: `${n.address} answers ${n.errorsPerSec!.toFixed(1)} errors/s`,
        why: 'Clients get error replies: bugs, WRONGTYPE, OOM or ACL denials.',
        action: 'INFO errorstats on the node names the error kinds; match them to the application.',
      })
    }
    for (const c of n.topCommands) {
      if ((c.p99Us ?? 0) >= LIMITS.commandP99Us && c.opsPerSec > 0) {
        add({
          severity: 'warning',
          category: 'workload',
          node: n.address,
          summary: `${c.command} p99 ${ms(c.p99Us!)} on ${n.address}`,
          why: 'Slow commands block the node for everyone else.',
          action:
            'Check the arguments of these calls in the slowlog; prefer O(1) commands or smaller values.',
        })
      }
    }
  }
  // Every slow command the slowlog showed: a warning from LIMITS.slowUs on, a note below it.
  for (const g of input.slowlogGroups.slice(0, 5)) {
    const where = seenOn(g.count, g.slowest.address, g.nodes)
    add({
      severity: g.maxUs >= LIMITS.slowUs ? 'warning' : 'info',
      category: 'workload',
      node: g.slowest.address,
      summary: `slowlog: ${g.pattern} took up to ${ms(g.maxUs)} on ${g.slowest.address}${where}`,
      why: 'The server runs one command at a time: while it ran, every other client waited.',
      action: `Find the caller (${caller(g.slowest)}) and replace the command (SCAN instead of KEYS, smaller ranges, UNLINK instead of DEL).`,
      evidence: { maxUs: g.maxUs, count: g.count, nodes: g.nodes },
    })
  }
  // Every large reply and request COMMANDLOG showed (Valkey 8.1+), by pattern.
  for (const g of input.commandLogGroups?.largeReplies.slice(0, 5) ?? []) add(largeCommandFinding(g))
  for (const g of input.commandLogGroups?.largeRequests.slice(0, 5) ?? []) add(largeCommandFinding(g))

  // Clients.
  for (const n of s.nodes) {
    if ((n.clients.blocked ?? 0) > 0) {
      add({
        severity: 'info',
        category: 'clients',
        node: n.address,
        summary: `${n.clients.blocked} client${n.clients.blocked === 1 ? '' : 's'} blocked on ${n.address} (BLPOP, XREAD BLOCK, WAIT ...)`,
        why: 'Normal for queue consumers; unexpected ones hold connections and can hide a stalled producer.',
        action: 'CLIENT LIST on the node shows them (flags=b); check that their producers are running.',
      })
    }
  }
  for (const e of input.extras) {
    for (const c of e.clients ?? []) {
      if (c.omem >= LIMITS.outputBufferBytes || c.qbuf >= LIMITS.queryBufferBytes) {
        add({
          severity: 'warning',
          category: 'clients',
          node: e.address,
          summary: `client ${c.addr}${c.name ? ` "${c.name}"` : ''} holds ${formatBytes(Math.max(c.omem, c.qbuf))} of ${c.omem >= c.qbuf ? 'output' : 'query'} buffer (cmd ${c.cmd})`,
          why: 'Buffers count against memory; past the client-output-buffer-limit the client is disconnected.',
          action:
            'A slow reader or a huge reply (KEYS, HGETALL on a big hash, a pub/sub backlog): fix the client or the command.',
        })
      }
    }
    const connected = s.nodes.find((n) => n.address === e.address)?.clients.connected
    if (e.maxclients && connected && connected >= e.maxclients * LIMITS.clientsFraction) {
      add({
        severity: 'warning',
        category: 'clients',
        node: e.address,
        summary: `${connected} of ${e.maxclients} client connections in use on ${e.address}`,
        why: 'At maxclients new connections are refused.',
        action: 'Look at the top addresses below for a leak or a missing pool.',
      })
    }
  }

  // Keys.
  for (const k of input.keys.bigKeys) {
    add({
      severity: k.bytes >= LIMITS.bigKeyBytesCritical ? 'critical' : 'warning',
      category: 'keys',
      node: k.node,
      summary: `big key "${k.key}" (${k.type}, ${formatBytes(k.bytes)}${k.elements !== undefined ? `, ${k.elements} elements` : ''}) on ${k.node}`,
      why: 'Reading, deleting or migrating it blocks the node; it can make a shard fuller than the others.',
      action: 'Split it into smaller keys, read it in ranges, delete it with UNLINK.',
      evidence: { bytes: k.bytes, elements: k.elements },
    })
  }
  for (const k of input.keys.hotKeys) {
    add({
      severity: 'info',
      category: 'keys',
      node: k.node,
      summary: `hot key "${k.key}" (LFU frequency ${k.freq}) on ${k.node}`,
      why: 'One key served by one node: its shard takes the load whatever the shard count.',
      action: 'Cache it client-side, or spread it over several keys.',
    })
  }

  for (const f of cloudWatchFindings(input.cloudwatch)) add(f)
  return rankFindings(out)
}

const slotList = (slots: number[]) => slots.slice(0, 10).join(', ') + (slots.length > 10 ? ', ...' : '')

/**
 * Slots left open by a move, one finding per pair of nodes and state: both sides named, and which
 * of them carries its marker (a move interrupted between the two SETSLOT calls leaves one side).
 */
export function openSlotFindings(open: OpenSlot[]): Finding[] {
  const groups = new Map<string, OpenSlot[]>()
  for (const o of open) {
    const key = `${o.from}|${o.to}|${o.migrating}|${o.importing}`
    groups.set(key, [...(groups.get(key) ?? []), o])
  }
  return [...groups.values()].map((list) => {
    const { from, to, migrating, importing } = list[0]
    const slots = list.map((o) => o.slot)
    const label = `open slot${slots.length === 1 ? '' : 's'} ${slotList(slots)}`
    const them = slots.length === 1 ? 'it' : 'them'
    const summary =
      migrating && importing
        ? `${label}: ${from} migrating to ${to}, ${to} importing from ${from}`
        : migrating
          ? `${label}: ${from} migrating to ${to} (${to} is not importing ${them})`
          : `${label}: ${to} importing from ${from} (${from} is not migrating ${them})`
    return {
      severity: 'warning',
      category: 'topology',
      node: migrating ? from : to,
      summary,
      why: 'A slot move was started and not finished: clients get ASK redirections, and redis-cli --cluster check fails.',
      action: 'Finish or roll back the move: kvtop scale --fix (or redis-cli --cluster fix).',
      evidence: { slots, from, to, migrating, importing },
    }
  })
}

/** CloudWatch over the last hours: the worst period of each node. Nodes named by endpoint where AWS gives one. */
export function cloudWatchFindings(cw: CloudWatchSummary | undefined): Finding[] {
  const out: Finding[] = []
  if (!cw) return out
  const add = (f: Finding) => out.push(f)
  for (const [id, m] of Object.entries(cw.nodes)) {
    // The finding's node is the endpoint (as for every finding); the summary keeps AWS's name for the console.
    const node = cw.addresses?.[id] ?? id
    const name = id
    const cpu = m.engineCpu ?? m.cpu
    if (cpu !== undefined && cpu >= LIMITS.cpuPercent) {
      add({
        severity: 'warning',
        category: 'cloudwatch',
        node,
        summary: `CloudWatch: ${name} reached ${Math.round(cpu)}% (engine) CPU in the last ${cw.hours} hours`,
        why: 'CPU peaks show as latency spikes for every client of the node.',
        action: 'Match the time with the slowlog and deployments; scale up or out if it recurs.',
        evidence: { awsNode: id, cpu },
      })
    }
    if ((m.memoryUsagePercent ?? 0) >= LIMITS.memoryFraction * 100) {
      add({
        severity: 'warning',
        category: 'cloudwatch',
        node,
        summary: `CloudWatch: ${name} reached ${Math.round(m.memoryUsagePercent!)}% memory in the last ${cw.hours} hours`,
        why: 'Near maxmemory the node evicts or refuses writes.',
        action: 'Plan capacity: scale out or up, or shorten TTLs.',
        evidence: { awsNode: id, memoryUsagePercent: m.memoryUsagePercent },
      })
    }
    if ((m.evictions ?? 0) > 0) {
      add({
        severity: 'warning',
        category: 'cloudwatch',
        node,
        summary: `CloudWatch: ${name} evicted keys in the last ${cw.hours} hours (${m.evictions} in its worst period)`,
        why: 'Evictions mean the node was full.',
        action: 'Add memory or shorten TTLs.',
        evidence: { awsNode: id, evictions: m.evictions },
      })
    }
    if ((m.replicationLag ?? 0) >= LIMITS.lagSeconds) {
      add({
        severity: 'warning',
        category: 'cloudwatch',
        node,
        summary: `CloudWatch: replica ${name} lagged up to ${m.replicationLag!.toFixed(1)}s in the last ${cw.hours} hours`,
        why: 'Stale reads and a risk of losing writes on failover.',
        action: 'Look for write bursts and network saturation at those times.',
        evidence: { awsNode: id, replicationLag: m.replicationLag },
      })
    }
  }
  return out
}

/** The workload and client sections of the report. */
export function summarize(input: TriageInput): Pick<TriageReport, 'workload' | 'clients'> {
  const calls = new Map<string, number>()
  const time = new Map<string, { usec: number; perCall?: number; p99?: number }>()
  for (const n of input.snapshot.nodes) {
    for (const c of n.topCommands) {
      calls.set(c.command, (calls.get(c.command) ?? 0) + c.opsPerSec)
      const t = time.get(c.command) ?? { usec: 0 }
      t.usec += c.opsPerSec * (c.usecPerCall ?? 0)
      t.perCall = Math.max(t.perCall ?? 0, c.usecPerCall ?? 0)
      if (c.p99Us !== undefined) t.p99 = Math.max(t.p99 ?? 0, c.p99Us)
      time.set(c.command, t)
    }
  }
  const addresses = new Map<string, number>()
  const names = new Map<string, number>()
  for (const e of input.extras) {
    for (const c of e.clients ?? []) {
      const host = c.addr.replace(/:\d+$/, '')
      addresses.set(host, (addresses.get(host) ?? 0) + 1)
      if (c.name) names.set(c.name, (names.get(c.name) ?? 0) + 1)
    }
  }
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 10)
  return {
    workload: {
      opsPerSec: input.snapshot.cluster.opsPerSec,
      topByCalls: top(calls).map(([command, opsPerSec]) => ({
        command,
        opsPerSec: Math.round(opsPerSec * 10) / 10,
      })),
      topByTime: [...time]
        .sort((a, b) => b[1].usec - a[1].usec)
        .slice(0, 10)
        .map(([command, t]) => ({
          command,
          usecPerSec: Math.round(t.usec),
          ...(t.perCall ? { usecPerCall: Math.round(t.perCall * 10) / 10 } : {}),
          ...(t.p99 !== undefined ? { p99Us: t.p99 } : {}),
        })),
      slowlog: input.slowlogGroups.slice(0, 10).map((g) => ({
        pattern: g.pattern,
        count: g.count,
        maxUs: g.maxUs,
        nodes: g.nodes,
        example: g.slowest.args.join(' '),
      })),
      ...(input.commandLogGroups
        ? {
            commandLog: {
              largeRequests: input.commandLogGroups.largeRequests.slice(0, 10).map(largeCommandSummary),
              largeReplies: input.commandLogGroups.largeReplies.slice(0, 10).map(largeCommandSummary),
            },
          }
        : {}),
    },
    clients: {
      topAddresses: top(addresses).map(([host, connections]) => ({ host, connections })),
      topNames: top(names).map(([name, connections]) => ({ name, connections })),
    },
  }
}
