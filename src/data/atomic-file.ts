import { closeSync, constants, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { createWriteStream, type WriteStream } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { UsageError } from '../errors.js'

/**
 * A file written under a temporary name beside its final one, mode 0600, and renamed into place
 * only when complete: a crash or an error never leaves a partial file under the final name.
 */
export class AtomicFile {
  readonly tempPath: string
  private stream: WriteStream | undefined
  private finished = false

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {
    this.tempPath = AtomicFile.tempName(path)
  }

  static tempName(path: string): string {
    return join(dirname(path), `.${basename(path)}.${process.pid}.partial`)
  }

  /**
   * Check the destination before any work: refuse an existing file without `overwrite`, and an
   * unwritable directory, with exit 2.
   */
  static open(path: string, options: { overwrite?: boolean; flagName?: string } = {}): AtomicFile {
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
    const temp = AtomicFile.tempName(path)
    let fd: number
    try {
      fd = openSync(temp, constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC, 0o600)
    } catch (err) {
      throw new UsageError(
        `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          code: 'unwritable',
          hint: 'Check that the directory exists and is writable.',
        },
      )
    }
    return new AtomicFile(path, fd)
  }

  /** A write stream on the temporary file (for streaming writers; honour its backpressure). */
  writeStream(): WriteStream {
    this.stream ??= createWriteStream('', { fd: this.fd, autoClose: false })
    return this.stream
  }

  writeSync(data: Buffer): void {
    writeSync(this.fd, data)
  }

  /** Flush, fsync and rename into place. */
  async commit(): Promise<void> {
    if (this.finished) return
    if (this.stream) {
      const stream = this.stream
      await new Promise<void>((resolve, reject) => {
        stream.end(() => resolve())
        stream.once('error', reject)
      })
    }
    fsyncSync(this.fd)
    closeSync(this.fd)
    renameSync(this.tempPath, this.path)
    this.finished = true
  }

  /** Remove the temporary file; the final name is never touched. */
  discard(): void {
    if (this.finished) return
    this.finished = true
    this.stream?.destroy()
    try {
      closeSync(this.fd)
    } catch {
      // already closed by the stream
    }
    rmSync(this.tempPath, { force: true })
  }
}
