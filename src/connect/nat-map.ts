import { UsageError } from '../errors.js'
import { translateAddress, type NatMap } from '../wire/spec.js'
import { formatAddress, parseHostPort } from './endpoint.js'

export type { NatMap }
export { translateAddress }

/** Parse `--nat-map announced-host:port=reachable-host:port` entries (repeatable). */
export function parseNatMap(
  entries: readonly string[] = [],
  fromProfile: Record<string, string> = {},
): NatMap {
  const map: NatMap = new Map()
  const all = [...Object.entries(fromProfile).map(([k, v]) => `${k}=${v}`), ...entries]
  for (const entry of all) {
    const [from, to, extra] = entry.split('=')
    if (!from || !to || extra !== undefined) {
      throw new UsageError(
        `invalid --nat-map entry '${entry}': expected announced-host:port=reachable-host:port`,
      )
    }
    const a = parseHostPort(from)
    map.set(formatAddress(a.host, a.port), parseHostPort(to))
  }
  return map
}
