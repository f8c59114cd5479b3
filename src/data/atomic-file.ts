import { randomBytes } from 'node:crypto'
import {
  closeSync,
  constants,
  createWriteStream,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type WriteStream,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { UsageError, fileWriteError, type KvtopError } from '../errors.js'

/** How the temporary file is opened: a new file only, never through a symbolic link. */
const TEMP_FILE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY
const TEMP_FILE_MODE = 0o600

/** Directory fsync is not supported everywhere (some network and FUSE file systems): not an error there. */
const DIR_FSYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EPERM', 'EACCES'])

/**
 * A file written under a temporary name beside its final one and renamed into place only when
 * complete: a crash or an error never leaves a partial file under the final name.
 *
 * The temporary file has a random name (`.NAME.<random>.partial`), is created new (O_EXCL, so a file
 * or a symbolic link planted there is never written through) with mode 0600. The first write error
 * is recorded: `commit()` then rejects with it (explained: disk full, I/O error ...) and removes the
 * temporary file. A successful commit fsyncs the file, renames it, and fsyncs the directory.
 */
export class AtomicFile {
  private stream: WriteStream | undefined
  private state: 'open' | 'synced' | 'committed' | 'aborted' = 'open'
  private failure: Error | undefined
  private syncing: Promise<void> | undefined

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    private readonly fd: number,
    private readonly bufferBytes: number | undefined,
  ) {}

  /** A fresh temporary name beside `path`. */
  static tempName(path: string): string {
    return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`)
  }

  /**
   * Check the destination before any work: refuse an existing file without `overwrite`, and an
   * unwritable directory, with exit 2.
   */
  static open(
    path: string,
    options: {
      overwrite?: boolean
      flagName?: string
      /** Bytes the write stream buffers before its writer should wait (Node's default: 16 KiB). */
      bufferBytes?: number
    } = {},
  ): AtomicFile {
    let exists = false
    try {
      const st = statSync(path)
      if (st.isDirectory()) throw new UsageError(`${path} is a directory: give a file name`)
      exists = true
    } catch (err) {
      if (err instanceof UsageError) throw err
    }
    if (exists && !options.overwrite) {
      throw new UsageError(`${path} already exists`, {
        code: 'exists',
        hint: `Choose another file or pass ${options.flagName ?? '--force'} to replace it.`,
      })
    }
    for (let attempt = 0; ; attempt++) {
      const temp = AtomicFile.tempName(path)
      try {
        return new AtomicFile(
          path,
          temp,
          openSync(temp, TEMP_FILE_FLAGS, TEMP_FILE_MODE),
          options.bufferBytes,
        )
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        // Something already has that name (a leftover, or planted): take another one.
        if ((code === 'EEXIST' || code === 'ELOOP') && attempt < 8) continue
        throw new UsageError(`cannot write ${path}: ${code ?? (err as Error).message}`, {
          code: 'unwritable',
          hint: 'Check that the directory exists and is writable.',
        })
      }
    }
  }

  /** The first write error (undefined while every write succeeded). */
  get error(): Error | undefined {
    return this.failure
  }

  /**
   * A write stream on the temporary file (for streaming writers; honour its backpressure). A write
   * error is recorded, emitted as 'error', and makes `commit()` reject; stop writing when it comes.
   */
  writeStream(): WriteStream {
    if (!this.stream) {
      this.stream = createWriteStream('', {
        fd: this.fd,
        autoClose: false,
        ...(this.bufferBytes ? { highWaterMark: this.bufferBytes } : {}),
      })
      this.stream.on('error', (err) => this.fail(err))
    }
    return this.stream
  }

  /** Write all of `data`; a write error is recorded and thrown (explained), and `commit()` rejects. */
  writeSync(data: Buffer): void {
    if (this.failure) throw this.explain()
    if (this.state !== 'open') throw new Error(`${this.path}: write after the file was closed`)
    try {
      for (let done = 0; done < data.length;) done += writeSync(this.fd, data, done, data.length - done)
    } catch (err) {
      this.fail(err as Error)
      throw this.explain()
    }
  }

  /**
   * Flush every write and fsync the file, without renaming it yet (the first half of `commit()`,
   * for writers of several files that rename them only once all are safely written). Rejects with
   * the first write error, the temporary file removed.
   */
  sync(): Promise<void> {
    this.syncing ??= this.flushAndSync()
    return this.syncing
  }

  /**
   * Flush, fsync, rename into place and fsync the directory. Rejects with the first write error (the
   * temporary file removed, nothing under the final name) when any write failed.
   */
  async commit(): Promise<void> {
    if (this.state === 'committed') return
    await this.sync()
    if (this.state !== 'synced') throw this.closedError()
    this.state = 'aborted'
    try {
      closeSync(this.fd)
      renameSync(this.tempPath, this.path)
    } catch (err) {
      this.fail(err as Error)
      rmSync(this.tempPath, { force: true })
      throw this.explain()
    }
    try {
      syncDirectory(dirname(this.path))
    } catch (err) {
      // The rename may not survive a crash: a write error all the same, and nothing is left.
      this.fail(err as Error)
      rmSync(this.path, { force: true })
      throw this.explain()
    }
    this.state = 'committed'
  }

  /** Close and remove the temporary file; the final name is never touched. */
  abort(): void {
    if (this.state !== 'open' && this.state !== 'synced') return
    this.state = 'aborted'
    this.closeFd()
    rmSync(this.tempPath, { force: true })
  }

  /** The same as `abort()`. */
  discard(): void {
    this.abort()
  }

  private async flushAndSync(): Promise<void> {
    if (this.state !== 'open') throw this.closedError()
    const stream = this.stream
    if (stream?.destroyed && !this.failure) this.fail(new Error('the write stream was closed before the end'))
    if (stream && !this.failure) {
      await new Promise<void>((resolve) => {
        // 'finish' once every write has reached the file; 'error' (recorded by the listener) if not.
        const done = () => {
          stream.off('finish', done)
          stream.off('error', done)
          stream.off('close', done)
          resolve()
        }
        stream.once('finish', done)
        stream.once('error', done)
        stream.once('close', done)
        stream.end()
      })
      if (this.state !== 'open') throw this.closedError()
    }
    if (!this.failure) {
      try {
        fsyncSync(this.fd)
      } catch (err) {
        this.fail(err as Error)
      }
    }
    if (this.failure) {
      await this.release()
      throw this.explain()
    }
    this.state = 'synced'
  }

  private closedError(): Error {
    return this.failure ? this.explain() : new Error(`${this.path}: the file was aborted`)
  }

  private fail(err: Error): void {
    this.failure ??= err
  }

  private explain(): KvtopError {
    return fileWriteError(this.failure, this.path)
  }

  /** After a failed write: close (once the stream's pending writes are done) and remove the file. */
  private async release(): Promise<void> {
    this.state = 'aborted'
    const stream = this.stream
    if (stream && !stream.closed) {
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
      this.closeFd()
      await closed
    } else if (!stream) {
      this.closeFd()
    }
    rmSync(this.tempPath, { force: true })
  }

  private closeFd(): void {
    if (this.stream) {
      // The stream closes the descriptor itself once a write in progress has finished: closing it
      // here as well could close another file that was given the same number in between.
      if (!this.stream.destroyed) this.stream.destroy()
      return
    }
    try {
      closeSync(this.fd)
    } catch {
      // already closed
    }
  }
}

/** fsync a directory, so that a rename in it survives a crash. */
function syncDirectory(dir: string): void {
  let fd: number
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  } catch (err) {
    if (DIR_FSYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) return
    throw err
  }
  try {
    fsyncSync(fd)
  } catch (err) {
    if (!DIR_FSYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err
  } finally {
    closeSync(fd)
  }
}
