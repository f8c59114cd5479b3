import { parseInfo } from '../redis/info.js'

/** CLUSTER INFO, typed. Unknown fields are kept in `raw`. */
export interface ClusterInfo {
  state: string
  slotsAssigned?: number
  slotsOk?: number
  slotsPfail?: number
  slotsFail?: number
  knownNodes?: number
  size?: number
  currentEpoch?: number
  myEpoch?: number
  raw: Record<string, string>
}

export function parseClusterInfo(text: string): ClusterInfo {
  const raw = parseInfo(text)
  const num = (key: string): number | undefined => {
    const v = raw[key]
    if (v === undefined || v === '') return undefined
    const x = Number(v)
    return Number.isFinite(x) ? x : undefined
  }
  return {
    state: raw.cluster_state ?? 'unknown',
    slotsAssigned: num('cluster_slots_assigned'),
    slotsOk: num('cluster_slots_ok'),
    slotsPfail: num('cluster_slots_pfail'),
    slotsFail: num('cluster_slots_fail'),
    knownNodes: num('cluster_known_nodes'),
    size: num('cluster_size'),
    currentEpoch: num('cluster_current_epoch'),
    myEpoch: num('cluster_my_epoch'),
    raw,
  }
}
