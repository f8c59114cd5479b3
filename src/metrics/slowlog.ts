import { commandName, commandPattern } from '../redis/command-pattern.js'
import { parseLogEntries, type CommandLogType, type LargeLogKind, type RawLogEntry } from './log-reply.js'

/**
 * The entries of SLOWLOG and of COMMANDLOG's size logs with the node that logged them: the shapes
 * `kvtop slowlog` prints and the monitor keeps. Reading a reply is log-reply.ts, following a node's
 * log log-cursor.ts, merging nodes log-merge.ts, grouping by command pattern log-groups.ts.
 */

export interface NodeRef {
  id: string
  address: string
  shard: number
  role: 'primary' | 'replica'
}

/** A slowlog entry with its node: the JSON shape of `kvtop slowlog`. */
export interface SlowlogEntry {
  /** The entry id on its node. */
  id: number
  at: number
  durationUs: number
  command: string
  pattern: string
  args: string[]
  moreArguments?: number
  truncatedArgs?: { index: number; moreBytes: number }[]
  client: string
  clientName?: string
  node: string
  address: string
  shard: number
  role: 'primary' | 'replica'
  /** The server process (run_id) that logged it, when known; with the id it identifies the entry. */
  runId?: string
}

/**
 * A COMMANDLOG large-request or large-reply entry with its node (Valkey 8.1+): the shape of
 * `kvtop slowlog --kind large-request|large-reply`. `bytes` is the size of the request (as the
 * client sent it) or of the reply (as the server sent it).
 */
export interface CommandLogEntry extends Omit<SlowlogEntry, 'durationUs'> {
  kind: LargeLogKind
  bytes: number
}

/** What every logged entry carries with its node, whatever the log. */
type NodeEntryFields = Omit<SlowlogEntry, 'id' | 'at' | 'durationUs'>

function nodeFields(raw: RawLogEntry, node: NodeRef, runId?: string): NodeEntryFields {
  return {
    command: commandName(raw.args),
    pattern: commandPattern(raw.args),
    args: raw.args,
    ...(raw.moreArguments !== undefined ? { moreArguments: raw.moreArguments } : {}),
    ...(raw.truncatedArgs ? { truncatedArgs: raw.truncatedArgs } : {}),
    client: raw.client,
    ...(raw.clientName ? { clientName: raw.clientName } : {}),
    node: node.id,
    address: node.address,
    shard: node.shard,
    role: node.role,
    ...(runId ? { runId } : {}),
  }
}

export function toSlowlogEntry(raw: RawLogEntry, node: NodeRef, runId?: string): SlowlogEntry {
  return { id: raw.id, at: raw.at, durationUs: raw.value, ...nodeFields(raw, node, runId) }
}

export function toCommandLogEntry(
  raw: RawLogEntry,
  kind: LargeLogKind,
  node: NodeRef,
  runId?: string,
): CommandLogEntry {
  return { kind, id: raw.id, at: raw.at, bytes: raw.value, ...nodeFields(raw, node, runId) }
}

/**
 * A COMMANDLOG GET <count> <type> reply, with its node: the SLOWLOG entry parser (the entries have
 * the same shape), the value read as the type says — microseconds for `slow`, bytes otherwise.
 */
export function parseCommandLog(reply: unknown, kind: 'slow', node: NodeRef, runId?: string): SlowlogEntry[]
export function parseCommandLog(
  reply: unknown,
  kind: LargeLogKind,
  node: NodeRef,
  runId?: string,
): CommandLogEntry[]
export function parseCommandLog(
  reply: unknown,
  kind: CommandLogType,
  node: NodeRef,
  runId?: string,
): SlowlogEntry[] | CommandLogEntry[] {
  const raw = parseLogEntries(reply)
  return kind === 'slow'
    ? raw.map((e) => toSlowlogEntry(e, node, runId))
    : raw.map((e) => toCommandLogEntry(e, kind, node, runId))
}
