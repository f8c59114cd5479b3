import type { ChartWindow } from './chart-window.js'

/** What the user chose on the dashboard: sort, filter, pause, selection, chart window and scope. */

export type SortKey = 'shard' | 'ops' | 'latency' | 'cpu' | 'memory' | 'lag' | 'hit' | 'clients' | 'address'
export const SORT_KEYS: SortKey[] = [
  'shard',
  'ops',
  'latency',
  'cpu',
  'memory',
  'lag',
  'hit',
  'clients',
  'address',
]

export interface ViewState {
  sort: SortKey
  descending: boolean
  filter: string
  paused: boolean
  selectedId?: string
  /** Minutes of history the charts show. */
  window: ChartWindow
  /** Where there is room for two charts only: the cluster's figures, or the selected node's. */
  chartScope: 'cluster' | 'node'
}

export function initialViewState(): ViewState {
  return { sort: 'shard', descending: false, filter: '', paused: false, window: 5, chartScope: 'cluster' }
}
