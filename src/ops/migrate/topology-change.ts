import { Deployment } from '../../connect/deployment.js'
import { OperationError, errorMessage } from '../../errors.js'
import { shardChange } from './checkpoint.js'
import { openSlots, readShards, type Shard } from './shards.js'
import type { ShardIdentity } from './types.js'

/** The source topology changed during the copy: which shards must be scanned again. */
export class TopologyChanged extends OperationError {
  constructor(
    readonly details: string[],
    readonly now: Record<string, ShardIdentity>,
    readonly tainted: Map<string, string>,
  ) {
    super('the source topology changed during the copy: run the same command again to finish', {
      code: 'topology-changed',
      resumable: true,
      hint: `${details.join('; ')}. The shards that changed are scanned again from the start (keys already copied are copied over); the others resume where they stood.`,
    })
  }
}

/** What a copier saw of its shard: keys it had to read from another node (MOVED/ASK). */
interface CopiedShard {
  key: string
  address: string
  redirectedReads: number
}

/**
 * Has the source changed under the copy? Its topology read anew (primaries, slot owners, server
 * processes, slots being moved) against the start, and any key read from another node than
 * its shard's (MOVED/ASK): keys could have moved past a scan.
 */
export async function detectTopologyChange(
  source: Deployment,
  shards: Shard[],
  copied: CopiedShard[],
  options: { resumable: boolean },
): Promise<TopologyChanged | undefined> {
  const sourceCluster = source.topology.mode === 'cluster'
  let now: Shard[]
  let open: Awaited<ReturnType<typeof openSlots>>
  try {
    const again = await Deployment.connectSpec(source.spec)
    try {
      now = await readShards(again)
      open = await openSlots(again)
    } finally {
      await again.close()
    }
  } catch (err) {
    throw new OperationError(
      `the source topology could not be read again after the copy (${errorMessage(err)}): run the same command again to finish`,
      { resumable: options.resumable },
    )
  }
  const details: string[] = []
  const tainted = new Map<string, string>()
  const before = new Map(shards.map((s) => [s.key, s.identity]))
  const after = new Map(now.map((s) => [s.key, s.identity]))
  const gone = [...before.keys()].filter((k) => !after.has(k))
  const added = [...after.keys()].filter((k) => !before.has(k))
  if (gone.length || added.length)
    details.push(`slot owners changed: shards ${gone.join(' | ') || '-'} became ${added.join(' | ') || '-'}`)
  for (const [key, identity] of after) {
    const change = before.has(key) ? shardChange(before.get(key), identity) : undefined
    if (change) details.push(`${sourceCluster ? `slots ${key}: ` : ''}${change}`)
  }
  for (const s of now) if (open.addresses.has(s.identity.address)) tainted.set(s.key, 'slots being moved')
  if (open.text.length) details.push(open.text.slice(0, 3).join('; '))
  for (const copier of copied)
    if (copier.redirectedReads > 0) {
      details.push(
        `${copier.redirectedReads} keys of ${copier.address} were read from another node (MOVED/ASK)`,
      )
      tainted.set(copier.key, 'reads redirected')
      // The slots went elsewhere: the shards that hold them now are scanned again too.
      for (const k of added) tainted.set(k, 'slots received')
    }
  if (!details.length) return undefined
  return new TopologyChanged(details, Object.fromEntries(after), tainted)
}
