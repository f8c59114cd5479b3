import { versionAtLeast } from '../../connect/capabilities.js'

/** What the target can rebuild of a stream beyond its entries and groups. */
export interface StreamSupport {
  /** XSETID ... ENTRIESADDED / MAXDELETEDID and XGROUP CREATE ... ENTRIESREAD (Redis 7.0+, Valkey). */
  metadata: boolean
  /** XGROUP CREATECONSUMER and XTRIM MINID (Redis 6.2+, Valkey). */
  createConsumer: boolean
}

export const FULL_STREAM_SUPPORT: StreamSupport = { metadata: true, createConsumer: true }

/** What a target of this engine and version can rebuild (unknown: a current server is assumed). */
export function streamSupport(engine: string | undefined, version: string | undefined): StreamSupport {
  if (engine === 'valkey' || !version || version === 'unknown') return FULL_STREAM_SUPPORT
  return { metadata: versionAtLeast(version, '7.0.0'), createConsumer: versionAtLeast(version, '6.2.0') }
}
