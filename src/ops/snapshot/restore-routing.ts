import type { RdbEntry } from '../../data/rdb/reader.js'
import { keySlot, keySlotOf, type RoutedPipeline } from '../../wire/routed-pipeline.js'

/**
 * Where the command for a file entry goes, and what must precede it: a standalone target takes
 * every key on one connection, SELECTing the entry's target db when it changes; a cluster holds db 0
 * only and takes each key on the node that owns its slot.
 */
export interface EntryRouting {
  /** The slot to write the entry's command to (after any SELECT it needs). */
  slotFor(rec: RdbEntry): number
}

/** Routing for `cluster` or standalone targets; `selectTag` tags the SELECTs a standalone gets. */
export function entryRouting<T>(
  pipeline: RoutedPipeline<T>,
  cluster: boolean,
  targetDb: (db: number) => number,
  selectTag: T,
): EntryRouting {
  return cluster ? clusterRouting() : standaloneRouting(pipeline, targetDb, selectTag)
}

function clusterRouting(): EntryRouting {
  return {
    slotFor: (rec) => (rec.keyIsPlain ? keySlotOf(rec.buf, rec.keyStart, rec.keyEnd) : keySlot(rec.key)),
  }
}

function standaloneRouting<T>(
  pipeline: RoutedPipeline<T>,
  targetDb: (db: number) => number,
  selectTag: T,
): EntryRouting {
  let currentDb = -1
  return {
    slotFor: (rec) => {
      const db = targetDb(rec.db)
      if (db !== currentDb) {
        pipeline
          .batchFor(0)
          .append(Buffer.from(`*2\r\n$6\r\nSELECT\r\n$${String(db).length}\r\n${db}\r\n`), selectTag)
        currentDb = db
      }
      return 0
    },
  }
}
