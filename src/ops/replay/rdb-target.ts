import type { SeededTarget } from '../../connect/target.js'
import { versionAtLeast } from '../../connect/capabilities.js'
import { rdbVersionForServer } from '../../data/rdb/constants.js'
import { parseInfoSections } from '../../redis/info.js'
import { RespError } from '../../wire/reply-parser.js'
import type { EventSink } from '../events.js'
import type { RdbHeader } from '../../data/rdb/reader.js'

/** How RDB entries (an RDB file, an AOF preamble or base) are sent to a target of an older RDB version. */
export interface RdbTarget {
  /** The RDB version the target writes (and reads up to). */
  version: number
  /** Before Redis 7.0: streams rebuilt without their 7.0 counters. */
  legacyStreams?: boolean
  /** A key was rebuilt with commands (its value's encoding is newer than the target's). */
  onRebuilt?: (file: string, header: RdbHeader) => void
}

/**
 * The target's RDB version, for RDB parts of the log: values it can read are RESTOREd labelled
 * with it, the others rebuilt with commands (said once per file, counted in the report).
 */
export async function rdbTarget(
  target: SeededTarget,
  count: () => void,
  emit: EventSink,
): Promise<RdbTarget | undefined> {
  let caps: { engine: string; version: string } | undefined = target.capabilities
  if (!caps) {
    // Not probed: INFO server says which server it is (where INFO is refused, values go as labelled).
    const reply = await target.seed.call(['INFO', 'server'])
    if (reply instanceof RespError) return undefined
    const info = parseInfoSections(String(reply)).server ?? {}
    const valkey = info.server_name?.toLowerCase() === 'valkey' || info.valkey_version !== undefined
    const version = (valkey ? info.valkey_version : undefined) ?? info.redis_version
    if (!version) return undefined
    caps = { engine: valkey ? 'valkey' : 'redis', version }
  }
  const { engine, version: serverVersion } = caps
  const version = rdbVersionForServer(engine, serverVersion)
  const said = new Set<string>()
  return {
    version,
    legacyStreams: engine === 'redis' && !versionAtLeast(serverVersion, '7.0.0'),
    onRebuilt: (file, header) => {
      count()
      if (said.has(file)) return
      said.add(file)
      emit({
        type: 'warning',
        message: `${file}: RDB ${header.version} values the target (${engine} ${serverVersion}, RDB ${version}) cannot RESTORE are rebuilt with commands (MULTI, DEL, SET/RPUSH/SADD/HSET/ZADD/XADD ..., EXEC)`,
      })
    },
  }
}
