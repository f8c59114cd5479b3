import type { Deployment } from '../../connect/deployment.js'
import type { TopologyNode } from '../../connect/topology.js'
import { UsageError } from '../../errors.js'
import type { CommandArg } from '../../wire/encode.js'
import type { Reply } from '../../wire/reply-parser.js'
import { keySlot } from '../../wire/routed-pipeline.js'
import type { DumpCompatibility } from './plan-facts.js'
import type { CopyMode, MigrateMode } from './types.js'

/** The RDB version of a DUMP reply's payload (the two bytes before the CRC64); none for a nil. */
function payloadVersion(reply: Reply): number | undefined {
  return Buffer.isBuffer(reply) && reply.length >= 10 ? reply.readUInt16LE(reply.length - 10) : undefined
}

/** A scratch key this node serves (a cluster node only answers for its own slots). */
function probeKey(node: TopologyNode): string {
  const base = `__kvtop_probe__:dumpver:${process.pid}`
  if (!node.slots.length) return base
  for (let i = 0; i < 100_000; i++) {
    const key = `${base}:{${i}}`
    const slot = keySlot(Buffer.from(key))
    if (node.slots.some(([a, b]) => slot >= a && slot <= b)) return key
  }
  return base
}

/**
 * RDB version a server writes in DUMP payloads. `existing`: read from a key it holds (SCAN + DUMP,
 * nothing written) before falling back to a scratch key of its own (written, dumped, deleted).
 */
async function dumpVersion(d: Deployment, options: { existing?: boolean } = {}): Promise<number | undefined> {
  const node = d.topology.mode === 'cluster' ? d.primaries.find((n) => n.slots.length) : d.primaries[0]
  if (!node) return undefined
  const dump = async (key: CommandArg) => payloadVersion(await d.command(node, ['DUMP', key]))
  try {
    if (options.existing) {
      const [, keys] = (await d.command(node, ['SCAN', '0', 'COUNT', 100])) as [Buffer, Buffer[]]
      for (const key of keys.slice(0, 10)) {
        const version = await dump(key)
        if (version !== undefined) return version
      }
    }
    const key = probeKey(node)
    await d.command(node, ['SET', key, 'x', 'PX', 5000])
    const version = await dump(key)
    await d.command(node, ['DEL', key])
    return version
  } catch {
    return undefined
  }
}

/**
 * The highest RDB version a server accepts, from its engine and version, where no DUMP could be
 * made on it (Redis 7.0: 10, 7.2: 11, 7.4: 12; Valkey 7.2 and 8: 11, 9: 80).
 */
function acceptedRdbVersion(engine: string, version: string): number {
  const [major, minor] = version.split('.').map(Number)
  if (engine === 'valkey') return major >= 9 ? 80 : 11
  if (major > 7 || (major === 7 && minor >= 4)) return 12
  if (major === 7 && minor >= 2) return 11
  if (major === 7) return 10
  return 9
}

/**
 * The source's DUMP version (from a key it holds where it has one: nothing written to it then)
 * against the highest the target reads (the version of its own payloads, written on a scratch key
 * and deleted; its engine's known version where that is refused). A server reads its own version
 * and older ones only.
 */
export async function dumpCompatibility(
  source: Deployment,
  target: Deployment,
  targetServer?: { engine: string; version: string },
): Promise<DumpCompatibility> {
  const [sv, tv] = await Promise.all([dumpVersion(source, { existing: true }), dumpVersion(target)])
  const engine = targetServer?.engine ?? target.capabilities?.engine ?? 'redis'
  const version = targetServer?.version ?? target.capabilities?.version ?? 'unknown'
  const accepted = tv ?? acceptedRdbVersion(engine, version)
  return {
    ...(sv !== undefined ? { source: sv } : {}),
    accepted,
    ...(sv !== undefined && Number.isFinite(accepted) ? { readable: sv <= accepted } : {}),
    target: `${engine} ${version}`,
  }
}

/**
 * The copy mode of `migrate run`: --mode logical as asked; --mode dump refused (exit 2, before
 * anything is copied) when the target cannot read the source's payloads; --mode auto chooses
 * logical then and dump otherwise, saying why (resuming, it keeps what the checkpoint records).
 */
export function chooseMode(
  requested: MigrateMode,
  recorded: CopyMode | undefined,
  dump: DumpCompatibility | undefined,
): { mode: CopyMode; reason?: string } {
  if (requested === 'logical') return { mode: 'logical' }
  if (requested === 'auto' && recorded)
    return { mode: recorded, reason: 'the mode the resumed checkpoint records' }
  const unreadable = dump?.readable === false
  if (requested === 'dump') {
    if (unreadable)
      throw new UsageError(
        `the target (${dump.target}) cannot read the source's DUMP payloads: the source writes RDB version ${dump.source}, the target reads up to ${dump.accepted}`,
        {
          code: 'dump-version',
          hint: 'Copy with --mode logical (values rebuilt with type commands: portable across versions and engines), or --mode auto to have kvtop choose; or upgrade the target.',
        },
      )
    return { mode: 'dump' }
  }
  if (unreadable)
    return {
      mode: 'logical',
      reason: `the target (${dump.target}) reads DUMP payloads up to RDB version ${dump.accepted}, the source writes ${dump.source}`,
    }
  return {
    mode: 'dump',
    reason:
      dump?.readable === true
        ? `the target (${dump.target}) reads the source's DUMP payloads (RDB version ${dump.source})`
        : "the source's DUMP version could not be read: DUMP/RESTORE is tried (a payload the target refuses stops the run, naming --mode logical)",
  }
}
