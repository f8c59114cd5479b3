import type { Redis } from 'ioredis'
import { firstWord, isCommandRefusal } from '../wire/classify.js'
import { openRawNode } from '../wire/node.js'
import { RespError, type Reply } from '../wire/reply-parser.js'
import { parseInfo } from '../metrics/info.js'
import type { ConnectionSpec, NodeAddress } from './client.js'

export type Provider = 'elasticache' | 'memorydb' | 'self-managed'
export type Engine = 'redis' | 'valkey'

export interface Refusal {
  command: string
  /** acl: NOPERM for this user; disabled: unknown/renamed command; protected: a server setting forbids it. */
  reason: 'acl' | 'disabled' | 'protected'
  message: string
}

export interface Capabilities {
  engine: Engine
  version: string
  provider: Provider
  clusterEnabled: boolean
  /** Commands this endpoint refuses for this user, learned by probing. */
  refused: string[]
  refusals: Refusal[]
  /** Commands this server version does not have at all. */
  unsupported: string[]
  /** Commands the probe could not judge (no pub/sub permission and the command refuses MULTI). */
  unknown: string[]
}

/**
 * Commands probed, each with arguments that would be harmless even if run. They are not run: the
 * probe connection first enters the RESP2 pub/sub context, where Redis checks a command's existence
 * and the ACL before refusing everything but (UN)SUBSCRIBE/PING — so the error reply tells
 * "refused" (NOPERM, unknown command, protected) from "allowed" (the pub/sub-context refusal).
 */
export const PROBED_COMMANDS: Record<string, string[]> = {
  config: ['CONFIG', 'GET', 'maxmemory'],
  sync: ['SYNC'],
  psync: ['PSYNC', '?', '-1'],
  migrate: ['MIGRATE', '127.0.0.1', '1', '', '0', '1', 'KEYS', 'kvtop:probe'],
  debug: ['DEBUG', 'SLEEP', '0'],
  monitor: ['MONITOR'],
  bgsave: ['BGSAVE'],
  save: ['SAVE'],
  bgrewriteaof: ['BGREWRITEAOF'],
  replicaof: ['REPLICAOF', 'NO', 'ONE'],
  slaveof: ['SLAVEOF', 'NO', 'ONE'],
  shutdown: ['SHUTDOWN', 'NOSAVE'],
  module: ['MODULE', 'LIST'],
  'acl setuser': ['ACL', 'SETUSER', 'kvtop-probe'],
  'acl deluser': ['ACL', 'DELUSER', 'kvtop-probe'],
  'acl load': ['ACL', 'LOAD'],
  'acl save': ['ACL', 'SAVE'],
  'cluster addslots': ['CLUSTER', 'ADDSLOTS', '0'],
  'cluster delslots': ['CLUSTER', 'DELSLOTS', '0'],
  'cluster setslot': ['CLUSTER', 'SETSLOT', '0', 'STABLE'],
  'cluster meet': ['CLUSTER', 'MEET', '127.0.0.1', '1'],
  'cluster slot-stats': ['CLUSTER', 'SLOT-STATS', 'SLOTSRANGE', '0', '0'],
  dump: ['DUMP', 'kvtop:probe'],
  restore: ['RESTORE', 'kvtop:probe', '0', 'x'],
  scan: ['SCAN', '0'],
  slowlog: ['SLOWLOG', 'GET', '1'],
  'latency latest': ['LATENCY', 'LATEST'],
  'memory usage': ['MEMORY', 'USAGE', 'kvtop:probe'],
  'object freq': ['OBJECT', 'FREQ', 'kvtop:probe'],
  'client list': ['CLIENT', 'LIST'],
  commandlog: ['COMMANDLOG', 'GET', '1', 'slow'],
}

/** Commands that exist only from some engine version on: absent below it, not refused. */
const INTRODUCED: Record<string, { redis?: string; valkey?: string }> = {
  commandlog: { valkey: '8.1.0' },
  'cluster slot-stats': { valkey: '8.0.0', redis: '8.2.0' },
}

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number)
  const b = minimum.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  }
  return true
}

/** True when `command` does not exist in this engine version at all. */
export function absentInVersion(command: string, engine: Engine, version: string): boolean {
  const gate = INTRODUCED[command]
  if (!gate) return false
  const min = gate[engine]
  return !min || !versionAtLeast(version, min)
}

/**
 * A probe's reply: refused (the one refusal test, isCommandRefusal, then why: the ACL, a renamed or
 * disabled command, a server setting), a subcommand this version lacks, or allowed — the pub/sub
 * context's own refusal, or any other error about the harmless arguments.
 */
export function classifyProbeReply(command: string, reply: Reply): Refusal | 'allowed' | 'unsupported' {
  if (!(reply instanceof RespError)) return 'allowed'
  const message = reply.message
  if (firstWord(message) === 'NOPERM') return { command, reason: 'acl', message }
  if (/unknown subcommand/i.test(message)) return 'unsupported'
  // The pub/sub context refuses what the server would otherwise run: allowed.
  if (/only \(P\|S\)SUBSCRIBE/.test(message) || !isCommandRefusal(reply)) return 'allowed'
  if (/^ERR unknown command/i.test(message)) return { command, reason: 'disabled', message }
  return { command, reason: 'protected', message }
}

export function detectEngine(info: Record<string, string>): { engine: Engine; version: string } {
  if (info.server_name?.toLowerCase() === 'valkey' || info.valkey_version) {
    return { engine: 'valkey', version: info.valkey_version ?? info.redis_version ?? 'unknown' }
  }
  return { engine: 'redis', version: info.redis_version ?? 'unknown' }
}

export function detectProvider(info: Record<string, string>, host: string): Provider {
  const os = info.os ?? ''
  if (/memorydb/i.test(os) || /\.memorydb\.[a-z0-9-]+\.amazonaws\.com$/i.test(host)) return 'memorydb'
  if (/elasticache/i.test(os) || /\.cache\.amazonaws\.com(\.cn)?$/i.test(host)) return 'elasticache'
  return 'self-managed'
}

/** Probe one node: engine, provider and the commands it refuses. Nothing probed is executed. */
export async function probeCapabilities(
  spec: ConnectionSpec,
  client: Redis,
  node?: NodeAddress,
): Promise<Capabilities> {
  const info = parseInfo(await client.info('server'))
  const clusterInfo = parseInfo(await client.info('cluster').catch(() => ''))
  const conn = await openRawNode(spec, node ?? spec.endpoint, { name: 'kvtop-probe' })
  const names = Object.keys(PROBED_COMMANDS)
  const verdicts = new Map<string, Refusal | 'allowed' | 'unsupported' | 'unknown'>()
  try {
    // Only once the server confirms the pub/sub context are the probes sent: they must never run.
    const subscribed = !((await conn.call(['SUBSCRIBE', '__kvtop_probe__'])) instanceof RespError)
    if (subscribed) {
      const replies = await conn.pipeline(names.map((n) => PROBED_COMMANDS[n]))
      names.forEach((name, i) => verdicts.set(name, classifyProbeReply(name, replies[i])))
    } else {
      // No channel permission: probe inside MULTI ... DISCARD instead, where commands are checked
      // and queued, never run. Commands that refuse MULTI itself stay unknown.
      if ((await conn.call(['MULTI'])) instanceof RespError) throw new Error('MULTI refused')
      const replies = await conn.pipeline(names.map((n) => PROBED_COMMANDS[n]))
      await conn.call(['DISCARD'])
      names.forEach((name, i) => {
        const reply = replies[i]
        const noMulti = reply instanceof RespError && /not allowed inside a transaction/i.test(reply.message)
        verdicts.set(name, noMulti ? 'unknown' : classifyProbeReply(name, reply))
      })
    }
  } catch {
    for (const name of names) if (!verdicts.has(name)) verdicts.set(name, 'unknown')
  } finally {
    conn.close()
  }
  const refusals: Refusal[] = []
  const unsupported: string[] = []
  const unknown: string[] = []
  const { engine, version } = detectEngine(info)
  for (const [name, verdict] of verdicts) {
    if (
      verdict === 'unsupported' ||
      (typeof verdict === 'object' && verdict.reason === 'disabled' && absentInVersion(name, engine, version))
    )
      unsupported.push(name)
    else if (verdict === 'unknown') unknown.push(name)
    else if (verdict !== 'allowed') refusals.push(verdict)
  }
  return {
    engine,
    version,
    provider: detectProvider(info, spec.endpoint.host),
    clusterEnabled: clusterInfo.cluster_enabled === '1',
    refused: refusals.map((r) => r.command),
    refusals,
    unsupported,
    unknown,
  }
}
