import { basename, dirname, extname, join } from 'node:path'
import { AtomicFile } from '../../data/atomic-file.js'
import { UsageError, fileWriteError, type KvtopError } from '../../errors.js'

/**
 * What a file's write stream buffers: the server is read on while the disk writes, instead of
 * waiting for each write to land (Node's 16 KiB default makes every chunk a round trip).
 */
const WRITE_BUFFER_BYTES = 8 * 1024 * 1024

/**
 * The files a snapshot writes: one, or N with `--split N` (`dump.rdb` -> `dump-0001.rdb` ...
 * `dump-000N.rdb`, the names ElastiCache gives exported snapshots). All are opened under temporary
 * names before any work, so an unwritable destination fails at once (exit 2); they are renamed into
 * place together at the end, or removed.
 */
export class SnapshotOutputs {
  private constructor(readonly files: AtomicFile[]) {}

  static splitNames(out: string, split: number): string[] {
    if (split <= 1) return [out]
    const ext = extname(out)
    const stem = basename(out, ext)
    return Array.from({ length: split }, (_, i) =>
      join(dirname(out), `${stem}-${String(i + 1).padStart(4, '0')}${ext || '.rdb'}`),
    )
  }

  static open(out: string, options: { split?: number; overwrite?: boolean } = {}): SnapshotOutputs {
    const split = options.split ?? 1
    if (!Number.isInteger(split) || split < 1 || split > 500) {
      throw new UsageError(`invalid --split ${split}: expected a whole number from 1 to 500`)
    }
    const names = SnapshotOutputs.splitNames(out, split)
    const files: AtomicFile[] = []
    try {
      for (const name of names)
        files.push(
          AtomicFile.open(name, {
            overwrite: options.overwrite,
            flagName: '--force',
            bufferBytes: WRITE_BUFFER_BYTES,
          }),
        )
    } catch (err) {
      for (const f of files) f.abort()
      throw err
    }
    return new SnapshotOutputs(files)
  }

  get paths(): string[] {
    return this.files.map((f) => f.path)
  }

  async commit(): Promise<void> {
    // Every file flushed and fsynced before any is renamed: one failing leaves none in place.
    for (const f of this.files) await f.sync()
    for (const f of this.files) await f.commit()
  }

  discard(): void {
    for (const f of this.files) f.abort()
  }

  /** The first write error of any file (disk full ...), explained; undefined when none failed. */
  writeError(): KvtopError | undefined {
    const failed = this.files.find((f) => f.error)
    return failed && fileWriteError(failed.error, failed.path)
  }
}
