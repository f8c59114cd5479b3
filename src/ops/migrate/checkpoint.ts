import { loadStateFile, lockStateFile, saveStateFile, type StateFileLock } from '../../data/state-file.js'
import { UsageError } from '../../errors.js'
import {
  CHECKPOINT_VERSION,
  type Checkpoint,
  type DeploymentIdentity,
  type MigrateMode,
  type ShardIdentity,
  type SlotRange,
} from './types.js'

const CHECKPOINT = {
  kind: 'kvtop-migrate',
  version: CHECKPOINT_VERSION,
  what: 'kvtop migrate checkpoint',
  flag: '--checkpoint',
  valid: (c: Checkpoint) =>
    typeof c.nodes === 'object' &&
    c.nodes !== null &&
    typeof c.shards === 'object' &&
    c.shards !== null &&
    typeof c.source === 'object' &&
    typeof c.target === 'object',
  otherVersionHint:
    'Its cursors cannot be resumed by this kvtop. Give a new --checkpoint file (add --replace: the keys already copied are on the target and are copied over), or finish the migration with the kvtop that wrote it.',
}

/** Read a checkpoint; undefined when the file does not exist. A file that is not one is an error (exit 2). */
export function loadCheckpoint(path: string): Checkpoint | undefined {
  return loadStateFile<Checkpoint>(path, CHECKPOINT)
}

/** Write it atomically, mode 0600: a crash leaves the previous one. */
export function saveCheckpoint(path: string, c: Checkpoint): Promise<void> {
  return saveStateFile(path, c)
}

/**
 * Lock a checkpoint for one run (`<file>.lock`): a second run on it is refused (exit 2, naming the
 * pid); a lock left by a run that is gone is taken over (`tookOver`).
 */
export function lockCheckpoint(path: string): StateFileLock {
  return lockStateFile(path, CHECKPOINT)
}

/** `--db-map` as recorded: "3:0,4:0" in source db order; "" for none. */
export function dbMapText(map: Map<number, number> | undefined): string {
  return [...(map ?? new Map<number, number>())]
    .filter(([a, b]) => a !== b) // a db mapped to itself is what no mapping does
    .sort((a, b) => a[0] - b[0])
    .map(([a, b]) => `${a}:${b}`)
    .join(',')
}

/** `0-5460` / `0-99,200-300`: a cluster shard's key in the checkpoint (its slot ranges). */
export function slotsKey(slots: readonly (readonly [number, number])[]): string {
  return [...slots]
    .sort((a, b) => a[0] - b[0])
    .map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`))
    .join(',')
}

/** The shard a `nodes` entry belongs to: its key up to the last `/`. */
function shardOfEntry(id: string): string {
  return id.slice(0, id.lastIndexOf('/'))
}

/** A live deployment's identity, with what a failover leaves behind (the previous replication id). */
export type IdentityNow = DeploymentIdentity & { replid2?: string }

/** Is `now` the deployment `recorded` describes, whatever failovers happened since? */
export function sameDeployment(recorded: DeploymentIdentity, now: IdentityNow): boolean {
  if ((recorded.mode === 'cluster') !== (now.mode === 'cluster')) return false
  if (now.mode === 'cluster') return (recorded.nodeIds ?? []).some((id) => (now.nodeIds ?? []).includes(id))
  if (recorded.primaries[0] === now.primaries[0]) return true
  // Another primary: the same data if it was promoted from the recorded one's replica (it carries
  // the old replication id as its second one) or is the same lineage.
  return Boolean(recorded.replid) && (recorded.replid === now.replid || recorded.replid === now.replid2)
}

const describeSide = (d: DeploymentIdentity) =>
  `${d.mode === 'cluster' ? 'cluster' : d.mode} ${d.primaries.join(', ')}`
const slotsText = (r?: SlotRange) => (r ? `${r.from}-${r.to}` : 'all')

/**
 * Before connecting: a resume must be asked for with what the checkpoint's cursors mean (the same
 * --slots, --mode and --db-map), and a finished checkpoint is not copied again without --live.
 */
export function checkResumeOptions(
  path: string,
  c: Checkpoint,
  o: { live?: boolean; slots?: SlotRange; mode?: MigrateMode; dbMap?: Map<number, number> },
): void {
  if (c.finished && !o.live) {
    throw new UsageError(`the checkpoint ${path} records a finished migration`, {
      hint: 'Run kvtop verify to compare the datasets, or remove the checkpoint to copy again.',
    })
  }
  // Its cursors are positions in a scan of those slots only: another range would skip keys.
  if (slotsText(c.slots) !== slotsText(o.slots)) {
    throw new UsageError(
      `the checkpoint ${path} records --slots ${slotsText(c.slots)}, not ${slotsText(o.slots)}`,
      {
        code: 'checkpoint-mismatch',
        hint: 'Resume with the same --slots, or give another --checkpoint file.',
      },
    )
  }
  // --mode auto resumes in the mode the checkpoint records (what the first run chose).
  const mode = o.mode ?? 'dump'
  if (mode !== 'auto' && c.mode !== mode) {
    throw new UsageError(`the checkpoint ${path} records --mode ${c.mode}, not ${mode}`, {
      code: 'checkpoint-mismatch',
      hint: `Resume with --mode ${c.mode} (or --mode auto), or give another --checkpoint file.`,
    })
  }
  const map = dbMapText(o.dbMap)
  if (c.dbMap !== map) {
    const flags = (m: string) =>
      m
        ? m
            .split(',')
            .map((e) => `--db-map ${e}`)
            .join(' ')
        : 'no --db-map'
    throw new UsageError(`the checkpoint ${path} records ${flags(c.dbMap)}, not ${flags(map)}`, {
      code: 'checkpoint-mismatch',
      hint: `Resume with ${flags(c.dbMap)}, or give another --checkpoint file.`,
    })
  }
}

/**
 * Once connected: the checkpoint must be for this source and this target (failovers allowed), and
 * a cluster source must have the same slot layout (its shards are the checkpoint's keys). A
 * standalone source that failed over to another address takes the checkpoint's entries over.
 */
export function checkResumeDeployments(
  path: string,
  c: Checkpoint,
  now: { source: IdentityNow; target: IdentityNow; shardKeys: string[] },
): void {
  const hint = 'Give another --checkpoint file (with --replace, as the target already holds keys).'
  if (!sameDeployment(c.source, now.source))
    throw new UsageError(`the checkpoint ${path} is for another source`, {
      code: 'checkpoint-mismatch',
      hint: `It records the source ${describeSide(c.source)}; this is ${describeSide(now.source)}. ${hint}`,
    })
  if (!sameDeployment(c.target, now.target))
    throw new UsageError(`the checkpoint ${path} is for another target`, {
      code: 'checkpoint-mismatch',
      hint: `It records the target ${describeSide(c.target)}; this is ${describeSide(now.target)}. ${hint}`,
    })
  const recorded = Object.keys(c.shards).sort()
  const current = [...now.shardKeys].sort()
  if (now.source.mode === 'cluster' && recorded.join(' ') !== current.join(' '))
    throw new UsageError(
      `the source's slot layout changed since the checkpoint ${path} was written: it records shards with slots ${recorded.join(' | ')}, the source now has ${current.join(' | ')}`,
      {
        code: 'slot-layout-changed',
        hint: `Its cursors belong to the shards it records. ${hint}`,
      },
    )
  if (now.source.mode !== 'cluster' && recorded.length === 1 && recorded[0] !== current[0]) {
    // The same data behind another address (a promoted replica): its entries move to that address.
    for (const [id, n] of Object.entries(c.nodes)) {
      delete c.nodes[id]
      c.nodes[`${current[0]}/${id.slice(id.lastIndexOf('/') + 1)}`] = n
    }
    c.shards = { [current[0]]: c.shards[recorded[0]] }
  }
}

/** Why a shard's cursor no longer applies, or undefined when it still does. */
export function shardChange(before: ShardIdentity | undefined, now: ShardIdentity): string | undefined {
  if (!before) return 'new shard'
  if (before.address !== now.address) return `primary ${before.address} -> ${now.address}`
  if (before.runId !== now.runId) return `run_id ${before.runId.slice(0, 8)} -> ${now.runId.slice(0, 8)}`
  if (before.replid !== now.replid)
    return `replication id ${before.replid.slice(0, 8)} -> ${now.replid.slice(0, 8)}`
  return undefined
}

/**
 * Take the current shards into the checkpoint. A shard whose primary is another server process
 * than the recorded one (restarted, failed over, even behind the same address), or one named in
 * `also`, has its scan start over at cursor 0 (RESTORE ... REPLACE makes copying a key again
 * harmless); with `dropMissing`, entries of shards that no longer exist go. Returns the shards that
 * start over, with the reason.
 */
export function restartChangedShards(
  c: Checkpoint,
  now: Record<string, ShardIdentity>,
  options: { also?: Map<string, string>; dropMissing?: boolean } = {},
): { key: string; address: string; reason: string }[] {
  const restarted: { key: string; address: string; reason: string }[] = []
  for (const [key, identity] of Object.entries(now)) {
    const reason = shardChange(c.shards[key], identity) ?? options.also?.get(key)
    if (!reason) continue
    const known = Boolean(c.shards[key])
    for (const [id, n] of Object.entries(c.nodes))
      if (shardOfEntry(id) === key)
        Object.assign(n, { cursor: '0', done: false, keys: 0, bytes: 0, vanished: 0 })
    if (known) restarted.push({ key, address: identity.address, reason })
  }
  if (options.dropMissing)
    for (const id of Object.keys(c.nodes)) if (!(shardOfEntry(id) in now)) delete c.nodes[id]
  c.shards = options.dropMissing ? { ...now } : { ...c.shards, ...now }
  return restarted
}
