import type { DataProfile } from './lib-dataset.js'

/** What every benchmark under bench/ returns: kvtop and its anchor, same run, same data. */
export interface BenchRow {
  case: string
  kvtop: { seconds: number; rate: number; unit: string }
  anchor: { name: string; seconds: number; rate: number }
  /** kvtop rate / anchor rate (or anchor time / kvtop time): > 1 means kvtop is faster. */
  ratio: number
  goal: string
  met: boolean
}

export interface BenchReport {
  name: string
  rows: BenchRow[]
  notes?: string[]
}

export interface BenchOptions {
  /** 1 = the size the issue names (e.g. 1M keys); smaller for a quick look. */
  scale: number
  /** The data profile of this pass, for the benchmarks that load a dataset (`usesDataset`). */
  profile: DataProfile
}
