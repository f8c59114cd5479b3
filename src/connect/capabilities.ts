import type { Redis } from 'ioredis'
import { parseAddress } from '../wire/address.js'
import { refusalReason } from '../wire/classify.js'
import { mapConnectError } from '../wire/connect-errors.js'
import type { RawRespConnection } from '../wire/connection.js'
import { nodeDialOptions } from '../wire/dial.js'
import { openRawNode } from '../wire/node.js'
import { RespError, type Reply } from '../wire/reply-parser.js'
import { parseInfo } from '../redis/info.js'
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
  /**
   * Commands the probe could not judge without sending them (neither ACL DRYRUN nor ACL GETUSER
   * for this user, or no COMMAND INFO): their first real use tells.
   */
  unknown: string[]
}

/**
 * One probed command. `args` is its harmless form. Only the forms marked `send` are ever sent to
 * the server: they are read-only and change nothing when run (CONFIG GET, SCAN, DUMP of a missing
 * key, ...), so their reply is the verdict. The others (SHUTDOWN, SYNC, CLUSTER SETSLOT, ACL
 * SETUSER, DEBUG SLEEP, ...) would act if a proxy or a "compatible" server ran them whatever the
 * context: they are never sent. Their verdict comes from metadata instead — COMMAND INFO (a renamed
 * or disabled command is missing), ACL DRYRUN (or the user's rules from ACL GETUSER), and the
 * server setting that protects DEBUG — or, where none of it can be read, from the first real use.
 */
export interface ProbedCommand {
  args: string[]
  /** Read-only: safe to send as it is. */
  send?: true
}

export const PROBED: Record<string, ProbedCommand> = {
  config: { args: ['CONFIG', 'GET', 'maxmemory'], send: true },
  sync: { args: ['SYNC'] },
  psync: { args: ['PSYNC', '?', '-1'] },
  migrate: { args: ['MIGRATE', '127.0.0.1', '1', '', '0', '1', 'KEYS', 'kvtop:probe'] },
  debug: { args: ['DEBUG', 'SLEEP', '0'] },
  monitor: { args: ['MONITOR'] },
  bgsave: { args: ['BGSAVE'] },
  save: { args: ['SAVE'] },
  bgrewriteaof: { args: ['BGREWRITEAOF'] },
  replicaof: { args: ['REPLICAOF', 'NO', 'ONE'] },
  slaveof: { args: ['SLAVEOF', 'NO', 'ONE'] },
  shutdown: { args: ['SHUTDOWN', 'NOSAVE'] },
  module: { args: ['MODULE', 'LIST'], send: true },
  'acl setuser': { args: ['ACL', 'SETUSER', 'kvtop-probe'] },
  'acl deluser': { args: ['ACL', 'DELUSER', 'kvtop-probe'] },
  'acl load': { args: ['ACL', 'LOAD'] },
  'acl save': { args: ['ACL', 'SAVE'] },
  'cluster addslots': { args: ['CLUSTER', 'ADDSLOTS', '0'] },
  'cluster delslots': { args: ['CLUSTER', 'DELSLOTS', '0'] },
  'cluster setslot': { args: ['CLUSTER', 'SETSLOT', '0', 'STABLE'] },
  'cluster meet': { args: ['CLUSTER', 'MEET', '127.0.0.1', '1'] },
  'cluster slot-stats': { args: ['CLUSTER', 'SLOT-STATS', 'SLOTSRANGE', '0', '0'], send: true },
  dump: { args: ['DUMP', 'kvtop:probe'], send: true },
  restore: { args: ['RESTORE', 'kvtop:probe', '0', 'x'] },
  scan: { args: ['SCAN', '0', 'COUNT', '1'], send: true },
  slowlog: { args: ['SLOWLOG', 'GET', '1'], send: true },
  'latency latest': { args: ['LATENCY', 'LATEST'], send: true },
  'memory usage': { args: ['MEMORY', 'USAGE', 'kvtop:probe'], send: true },
  'object freq': { args: ['OBJECT', 'FREQ', 'kvtop:probe'], send: true },
  'client list': { args: ['CLIENT', 'LIST', 'TYPE', 'pubsub'], send: true },
  commandlog: { args: ['COMMANDLOG', 'GET', '1', 'slow'], send: true },
}

/** The probed commands' forms, by name (as before PROBED carried whether each may be sent). */
export const PROBED_COMMANDS: Record<string, string[]> = Object.fromEntries(
  Object.entries(PROBED).map(([name, p]) => [name, p.args]),
)

/** Commands that exist only from some engine version on: absent below it, not refused. */
const INTRODUCED: Record<string, { redis?: string; valkey?: string }> = {
  commandlog: { valkey: '8.1.0' },
  'cluster slot-stats': { valkey: '8.0.0', redis: '8.2.0' },
  replicaof: { redis: '5.0.0', valkey: '7.2.0' },
  module: { redis: '4.0.0', valkey: '7.2.0' },
  'memory usage': { redis: '4.0.0', valkey: '7.2.0' },
  'object freq': { redis: '4.0.0', valkey: '7.2.0' },
  'acl setuser': { redis: '6.0.0', valkey: '7.2.0' },
  'acl deluser': { redis: '6.0.0', valkey: '7.2.0' },
  'acl load': { redis: '6.0.0', valkey: '7.2.0' },
  'acl save': { redis: '6.0.0', valkey: '7.2.0' },
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
 * A sent (read-only) probe's reply: refused (the one refusal classifier, refusalReason, says why: the
 * ACL, a renamed or disabled command, a server setting), a subcommand this version lacks, or
 * allowed — any other error is about the harmless arguments or the server's state (a key served
 * elsewhere, cluster support disabled, no LFU policy), not about the command.
 */
export function classifyProbeReply(command: string, reply: Reply): Refusal | 'allowed' | 'unsupported' {
  if (!(reply instanceof RespError)) return 'allowed'
  const message = reply.message
  const why = refusalReason(message)
  if (why === 'acl') return { command, reason: 'acl', message }
  if (why === 'unknown-subcommand') return 'unsupported'
  // CLUSTER commands on a server without cluster mode: an answer about the server, not a refusal.
  if (!why || /cluster support disabled/i.test(message)) return 'allowed'
  return { command, reason: why === 'unknown-command' ? 'disabled' : 'protected', message }
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

function text(reply: Reply | undefined): string | undefined {
  if (typeof reply === 'string') return reply
  if (Buffer.isBuffer(reply)) return reply.toString('utf8')
  return undefined
}

/** What COMMAND INFO says of one command: its ACL categories and (Redis 7+) its subcommands. */
export interface CommandMeta {
  /** `@admin`, `@dangerous`, ... (lower case). */
  categories: string[]
  /** By full name (`config|get`); undefined where the server lists none (Redis < 7). */
  subcommands?: Map<string, CommandMeta>
}

function commandMeta(entry: Reply): CommandMeta | null {
  if (!Array.isArray(entry)) return null
  const categories = Array.isArray(entry[6])
    ? entry[6].map((c) => (text(c) ?? '').toLowerCase()).filter(Boolean)
    : []
  const meta: CommandMeta = { categories }
  if (Array.isArray(entry[9]) && entry[9].length) {
    meta.subcommands = new Map()
    for (const sub of entry[9]) {
      const name = Array.isArray(sub) ? text(sub[0])?.toLowerCase() : undefined
      const m = commandMeta(sub)
      if (name && m) meta.subcommands.set(name, m)
    }
  }
  return meta
}

/**
 * COMMAND INFO's reply for `names` (in that order), by lower-case name: null where the server does
 * not know the command — renamed, disabled, or not in this version.
 */
export function parseCommandInfo(names: string[], reply: Reply): Map<string, CommandMeta | null> {
  const out = new Map<string, CommandMeta | null>()
  if (!Array.isArray(reply)) return out
  names.forEach((name, i) => out.set(name.toLowerCase(), commandMeta(reply[i])))
  return out
}

/**
 * Whether ACL command rules as ACL GETUSER prints them (`+@all -config -acl|setuser`) let
 * `command` (`shutdown`, `acl|setuser`) run: the rules apply in order and the last one that
 * concerns the command (by name, by the subcommand's full name, or by one of its categories) wins.
 */
export function aclRulesAllow(rules: string, command: string, categories: string[]): boolean {
  const [name, sub] = command.toLowerCase().split('|')
  let allowed = false
  for (const rule of rules.split(/\s+/)) {
    if (rule === 'allcommands' || rule === '+@all') allowed = true
    else if (rule === 'nocommands' || rule === '-@all') allowed = false
    else if (rule.startsWith('+') || rule.startsWith('-')) {
      const body = rule.slice(1).toLowerCase()
      let applies: boolean
      if (body.startsWith('@')) applies = categories.includes(body)
      else {
        const [ruleName, ruleSub] = body.split('|')
        applies = ruleName === name && (ruleSub === undefined || ruleSub === sub)
      }
      if (applies) allowed = rule.startsWith('+')
    }
  }
  return allowed
}

/** The command rules of an ACL GETUSER reply: the user's own and each selector's (Redis 7). */
export function parseGetUserRules(reply: Reply): string[] | undefined {
  if (!Array.isArray(reply)) return undefined
  const field = (fields: Reply[], key: string): Reply | undefined => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (text(fields[i]) === key) return fields[i + 1]
    return undefined
  }
  const root = text(field(reply, 'commands'))
  if (root === undefined) return undefined
  const rules = [root]
  const selectors = field(reply, 'selectors')
  if (Array.isArray(selectors))
    for (const s of selectors) {
      const r = Array.isArray(s) ? text(field(s, 'commands')) : undefined
      if (r !== undefined) rules.push(r)
    }
  return rules
}

function isLoopback(host: string | undefined): boolean {
  return !!host && (/^127\./.test(host) || host === '::1' || host.toLowerCase() === 'localhost')
}

type Verdict = Refusal | 'allowed' | 'unsupported' | 'unknown'

/**
 * Probe one node: engine, provider and the commands it refuses. Nothing that could change the
 * server is sent, in any context: only read-only forms (see PROBED), and for the rest metadata —
 * COMMAND INFO, ACL WHOAMI then ACL DRYRUN (or ACL GETUSER's rules), CONFIG GET of the setting that
 * protects DEBUG. Commands none of these can judge are reported unknown: their first real use
 * tells. The probe has its own connection; each reply is bounded by the spec's timeout (a node that
 * stops answering fails with a ConnectError naming it).
 */
export async function probeCapabilities(
  spec: ConnectionSpec,
  _seed?: Redis,
  node?: NodeAddress,
): Promise<Capabilities> {
  const target = node ?? spec.endpoint
  const conn = await openRawNode(spec, target, { name: 'kvtop-probe' })
  try {
    return await probeOn(conn, spec)
  } catch (err) {
    // A transport failure (a silent node, a reset): exit 3 naming the node.
    if ((err as NodeJS.ErrnoException)?.code)
      throw mapConnectError(err, nodeDialOptions(spec, target).context)
    throw err
  } finally {
    conn.close()
  }
}

/** What the first, pipelined round learns: server facts, COMMAND INFO, and the replies of the commands sent as they are. */
interface ProbeFacts {
  info: Record<string, string>
  clusterInfo: Record<string, string>
  engine: Capabilities['engine']
  version: string
  /** COMMAND INFO of the probed commands; undefined when the server would not say. */
  meta: Map<string, CommandMeta | null> | undefined
  /** ACL WHOAMI: undefined before Redis 6 or when refused. */
  user: string | undefined
  debugSetting: Reply
}

async function probeOn(conn: RawRespConnection, spec: ConnectionSpec): Promise<Capabilities> {
  const names = Object.keys(PROBED)
  const sent = names.filter((n) => PROBED[n].send)
  const { facts, sentReplies } = await readFacts(conn, names, sent)
  const verdicts = new Map<string, Verdict>()
  sent.forEach((name, i) => verdicts.set(name, classifyProbeReply(name, sentReplies[i])))
  const pending = absentCommands(
    names.filter((n) => !PROBED[n].send),
    facts.meta,
    verdicts,
  )
  await aclVerdicts(conn, facts, pending, verdicts)
  debugProtection(conn, facts, verdicts)
  return summarize(names, verdicts, facts, spec)
}

/** Round 1, pipelined, every reply bounded by the timeout: facts, metadata and read-only forms. */
async function readFacts(
  conn: RawRespConnection,
  names: string[],
  sent: string[],
): Promise<{ facts: ProbeFacts; sentReplies: Reply[] }> {
  const tops = [...new Set(names.map((n) => PROBED[n].args[0].toLowerCase()))]
  const [infoServer, infoCluster, whoami, commandInfo, debugSetting, ...sentReplies] = await Promise.all([
    conn.call(['INFO', 'server']),
    conn.call(['INFO', 'cluster']),
    conn.call(['ACL', 'WHOAMI']),
    conn.call(['COMMAND', 'INFO', ...tops]),
    conn.call(['CONFIG', 'GET', 'enable-debug-command']),
    ...sent.map((n) => conn.call(PROBED[n].args)),
  ])
  const info = parseInfo(text(infoServer) ?? '')
  const { engine, version } = detectEngine(info)
  return {
    facts: {
      info,
      clusterInfo: parseInfo(text(infoCluster) ?? ''),
      engine,
      version,
      meta: commandInfo instanceof RespError ? undefined : parseCommandInfo(tops, commandInfo),
      user: text(whoami),
      debugSetting,
    },
    sentReplies,
  }
}

/** `config` / `acl|setuser` as COMMAND INFO names it, and what it says of it. */
function lookup(
  meta: ProbeFacts['meta'],
  name: string,
): { full: string; meta: CommandMeta | null | undefined; subMissing: boolean } {
  const [cmd, sub] = name.split(' ')
  const top = meta?.get(cmd)
  const full = sub ? `${cmd}|${sub}` : cmd
  if (!sub || !top?.subcommands) return { full, meta: top, subMissing: false }
  const subMeta = top.subcommands.get(full)
  return { full, meta: subMeta ?? null, subMissing: !subMeta }
}

/**
 * Never sent: first whether the server has the command at all (COMMAND INFO). Those it does not
 * list get their verdict here; the rest are returned, to be asked of the ACL.
 */
function absentCommands(
  unsent: string[],
  meta: ProbeFacts['meta'],
  verdicts: Map<string, Verdict>,
): string[] {
  const pending: string[] = []
  for (const name of unsent) {
    const { meta: m, subMissing } = lookup(meta, name)
    if (meta && m === null) {
      verdicts.set(
        name,
        subMissing
          ? 'unsupported'
          : {
              command: name,
              reason: 'disabled',
              message: `ERR unknown command '${name}': COMMAND INFO does not list it (renamed or disabled)`,
            },
      )
    } else pending.push(name)
  }
  return pending
}

/**
 * Round 2: may this user run them? ACL DRYRUN checks without running. Where DRYRUN is missing
 * (Redis 6) or refused, round 3 reads the user's rules with ACL GETUSER.
 */
async function aclVerdicts(
  conn: RawRespConnection,
  facts: ProbeFacts,
  pending: string[],
  verdicts: Map<string, Verdict>,
): Promise<void> {
  const { user, meta, engine, version } = facts
  // Redis before 6 has no ACL: a command that exists is allowed.
  const noAcl = engine === 'redis' && version !== 'unknown' && !versionAtLeast(version, '6.0.0')
  let dryrun: Reply[] | undefined
  let rules: string[] | undefined
  if (user !== undefined && pending.length) {
    const dry = await Promise.all(pending.map((n) => conn.call(['ACL', 'DRYRUN', user, ...PROBED[n].args])))
    const unavailable =
      dry[0] instanceof RespError &&
      ['acl', 'unknown-command', 'unknown-subcommand'].includes(refusalReason(dry[0].message) ?? '')
    if (!unavailable) dryrun = dry
    else if (meta) rules = parseGetUserRules(await conn.call(['ACL', 'GETUSER', user]))
  }
  pending.forEach((name, i) => {
    const { full, meta: m } = lookup(meta, name)
    let verdict: Verdict = 'unknown'
    const dry = dryrun?.[i]
    if (dry !== undefined) verdict = dryrunVerdict(name, dry)
    else if (rules && m) {
      verdict = rules.some((r) => aclRulesAllow(r, full, m.categories))
        ? 'allowed'
        : {
            command: name,
            reason: 'acl',
            message: `NOPERM this user has no permissions to run the '${full}' command (ACL GETUSER)`,
          }
    } else if (noAcl && meta) verdict = 'allowed'
    verdicts.set(name, verdict)
  })
}

/** What an ACL DRYRUN reply says of a command. */
function dryrunVerdict(name: string, dry: Reply): Verdict {
  const said = text(dry)
  if (said === 'OK') return 'allowed'
  if (said !== undefined && /no permissions/i.test(said))
    return {
      command: name,
      reason: 'acl',
      message: `NOPERM ${said.replace(/^(This user|User \S+)/, 'this user')}`,
    }
  if (dry instanceof RespError && /not found/i.test(dry.message))
    return {
      command: name,
      reason: 'disabled',
      message: `ERR unknown command '${name}' (ACL DRYRUN: ${dry.message})`,
    }
  return 'unknown'
}

/** DEBUG, allowed by the ACL, may still be refused by the setting that protects it (Redis 7+). */
function debugProtection(conn: RawRespConnection, facts: ProbeFacts, verdicts: Map<string, Verdict>): void {
  if (verdicts.get('debug') !== 'allowed') return
  const { debugSetting, engine, version } = facts
  const setting = Array.isArray(debugSetting) ? text(debugSetting[1]) : undefined
  const guarded = engine === 'valkey' || versionAtLeast(version === 'unknown' ? '0' : version, '7.0.0')
  const local = isLoopback(parseAddress(conn.address)?.host)
  if (setting === 'no' || (setting === 'local' && !local))
    verdicts.set('debug', {
      command: 'debug',
      reason: 'protected',
      message: `ERR DEBUG command not allowed: enable-debug-command is '${setting}'`,
    })
  else if (setting === undefined && guarded && !Array.isArray(debugSetting)) verdicts.set('debug', 'unknown')
}

/** Every verdict sorted into refused, unsupported (absent in this engine and version) and unknown. */
function summarize(
  names: string[],
  verdicts: Map<string, Verdict>,
  facts: ProbeFacts,
  spec: ConnectionSpec,
): Capabilities {
  const { engine, version } = facts
  const refusals: Refusal[] = []
  const unsupported: string[] = []
  const unknown: string[] = []
  for (const name of names) {
    const verdict = verdicts.get(name) ?? 'unknown'
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
    provider: detectProvider(facts.info, spec.endpoint.host),
    clusterEnabled: facts.clusterInfo.cluster_enabled === '1',
    refused: refusals.map((r) => r.command),
    refusals,
    unsupported,
    unknown,
  }
}
