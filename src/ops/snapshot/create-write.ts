import { KeyFingerprintSet } from '../../data/keyspace/fingerprints.js'
import type { DumpSink } from '../../data/keyspace/scanner.js'
import { keySlot, keySlotOf, SLOTS } from '../../wire/routed-pipeline.js'
import { RdbFormatError } from '../../data/rdb/reader.js'
import { RdbWriter } from '../../data/rdb/writer.js'
import { escapeBytes } from '../../data/escape.js'
import { OperationError } from '../../errors.js'

// The write path shared by the scan and sync strategies: which file a key goes to, its db, repeats dropped.

export interface WriteState {
  writers: RdbWriter[]
  fingerprints: KeyFingerprintSet | undefined
  split: number
  duplicates: number
  currentDb: number[]
  dbKeys?: Map<number, number>
}

/** `keys`: the keys expected, to size the fingerprints of keys written; undefined: no deduplication. */
export function newWriteState(split: number, keys: number | undefined): WriteState {
  return {
    writers: [],
    fingerprints:
      keys === undefined ? undefined : new KeyFingerprintSet(Math.min(1 << 22, Math.max(1024, keys))),
    split,
    duplicates: 0,
    currentDb: new Array(split).fill(-1),
  }
}

export function fileIndex(state: WriteState, key: Buffer): number {
  return state.split === 1 ? 0 : Math.floor((keySlot(key) * state.split) / SLOTS)
}

export function selectDbAll(state: WriteState, db: number, sizes: { keys: number; expires: number }): void {
  for (let i = 0; i < state.writers.length; i++) {
    if (state.currentDb[i] === db) continue
    state.writers[i].selectDb(db, {
      keys: Math.ceil(sizes.keys / state.split),
      expires: Math.ceil(sizes.expires / state.split),
    })
    state.currentDb[i] = db
  }
}

export function countDbKey(state: WriteState, db: number): void {
  const m = (state.dbKeys ??= new Map())
  m.set(db, (m.get(db) ?? 0) + 1)
}

/** Where the scanner's keys go: de-duplicated, routed to their file, written from the wire bytes. */
export function scanSink(state: WriteState, db: number): DumpSink {
  return {
    key(key, ks, ke, payload, ps, pe, expireAt) {
      if (state.fingerprints && !state.fingerprints.add(db, key, ks, ke)) {
        state.duplicates++
        return
      }
      const i = state.split === 1 ? 0 : Math.floor((keySlotOf(key, ks, ke) * state.split) / SLOTS)
      try {
        state.writers[i].writeDumpRange(key, ks, ke, payload, ps, pe, expireAt)
      } catch (err) {
        if (err instanceof RdbFormatError) {
          throw new OperationError(
            `the DUMP payload of key "${escapeBytes(key.subarray(ks, ke))}" cannot go into the file: ${err.message}`,
            {
              resumable: false,
              hint: 'A node answered with values of a newer RDB version than the others (a cluster mid-upgrade?): run the snapshot again when all nodes run the same version.',
            },
          )
        }
        throw err
      }
      countDbKey(state, db)
    },
    wait() {
      for (const w of state.writers) {
        const d = w.drained()
        if (d) return d
      }
      return undefined
    },
  }
}
