import { once } from 'node:events'
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AtomicFile } from '../../../src/data/atomic-file.js'
import { KvtopError, OperationError, UsageError, fileWriteError } from '../../../src/errors.js'
import { fdsOpenOn } from '../../helpers/open-fds.js'

/**
 * The file system under the helper is the real one, with failures injected where the tests ask:
 * the write stream's writes (through createWriteStream's `fs` option, the path Node's own stream
 * takes), writeSync, and fsync of a file or of a directory.
 */
const hooks = vi.hoisted(() => ({
  /** Suffixes randomBytes hands out before real random ones. */
  suffixes: [] as Buffer[],
  /** The write stream's writes: this many succeed, then each fails with the next code (or the last). */
  streamFail: undefined as { after: number; codes: string[] } | undefined,
  /** writeSync: at most this many bytes per call (a short write), or failing with this code. */
  syncWriteMax: undefined as number | undefined,
  syncWriteError: undefined as string | undefined,
  fileFsyncError: undefined as string | undefined,
  dirFsyncError: undefined as string | undefined,
  /** What each fsyncSync call synced, in call order. */
  fsynced: [] as ('file' | 'dir')[],
}))

function errno(code: string): NodeJS.ErrnoException {
  const messages: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EIO: 'i/o error',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
  }
  return Object.assign(new Error(`${code}: ${messages[code] ?? 'error'}, write`), {
    code,
    errno: -1,
    syscall: 'write',
  })
}

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>()
  const randomBytes = vi.fn((size: number) => hooks.suffixes.shift() ?? real.randomBytes(size))
  return { ...real, default: { ...real, randomBytes }, randomBytes }
})

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>()
  type WriteCallback = (err: NodeJS.ErrnoException | null, written?: number) => void
  const streamFs = {
    open: real.open,
    close: real.close,
    write: (fd: number, buf: Buffer, off: number, len: number, pos: number | null, cb: WriteCallback) => {
      const fail = hooks.streamFail
      if (fail && fail.after-- <= 0) {
        const code = fail.codes.length > 1 ? fail.codes.shift()! : fail.codes[0]
        setImmediate(() => cb(errno(code)))
        return
      }
      real.write(fd, buf, off, len, pos, cb)
    },
  }
  const mocked = {
    ...real,
    openSync: vi.fn(real.openSync),
    closeSync: vi.fn(real.closeSync),
    renameSync: vi.fn(real.renameSync),
    fsyncSync: vi.fn((fd: number) => {
      const isDir = real.fstatSync(fd).isDirectory()
      hooks.fsynced.push(isDir ? 'dir' : 'file')
      const code = isDir ? hooks.dirFsyncError : hooks.fileFsyncError
      if (code) throw errno(code)
      real.fsyncSync(fd)
    }),
    writeSync: vi.fn((fd: number, buf: Buffer, offset?: number, length?: number) => {
      if (hooks.syncWriteError) throw errno(hooks.syncWriteError)
      const len = Math.min(length ?? buf.length - (offset ?? 0), hooks.syncWriteMax ?? Infinity)
      return real.writeSync(fd, buf, offset ?? 0, len)
    }),
    createWriteStream: vi.fn((path: string, options: object) =>
      real.createWriteStream(path, { ...options, fs: streamFs } as never),
    ),
  }
  return { ...mocked, default: mocked }
})

/** Write `chunks` on the helper's stream, honouring backpressure, until done or the stream errs. */
async function writeChunks(file: AtomicFile, chunks: Buffer[]): Promise<void> {
  const out = file.writeStream()
  for (const chunk of chunks) {
    if (file.error) return
    if (!out.write(chunk)) {
      // events.once rejects on 'error': either way, go on (and stop at the recorded error).
      await once(out, 'drain').catch(() => {})
    }
  }
}

describe('AtomicFile', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvtop-atomic-'))
    vi.clearAllMocks()
  })
  afterEach(() => {
    hooks.suffixes = []
    hooks.streamFail = undefined
    hooks.syncWriteMax = undefined
    hooks.syncWriteError = undefined
    hooks.fileFsyncError = undefined
    hooks.dirFsyncError = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  it('opens the temporary file new (O_CREAT|O_EXCL|O_NOFOLLOW|O_WRONLY), mode 0600, under a random name beside the final one', () => {
    const path = join(dir, 'out.rdb')
    const a = AtomicFile.open(path)
    const b = AtomicFile.open(path, { overwrite: true })
    try {
      expect(basename(a.tempPath)).toMatch(/^\.out\.rdb\.[0-9a-f]{12}\.partial$/)
      expect(a.tempPath.startsWith(dir + '/')).toBe(true)
      // Two writers of the same name never share (or truncate) one temporary file.
      expect(b.tempPath).not.toBe(a.tempPath)
      const calls = vi.mocked(openSync).mock.calls.filter(([p]) => p === a.tempPath || p === b.tempPath)
      expect(calls).toHaveLength(2)
      for (const [, flags, mode] of calls) {
        expect(flags).toBe(constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY)
        expect(mode).toBe(0o600)
      }
      expect(statSync(a.tempPath).mode & 0o777).toBe(0o600)
      expect(statSync(b.tempPath).mode & 0o777).toBe(0o600)
      expect(existsSync(path)).toBe(false)
    } finally {
      a.abort()
      b.abort()
    }
    expect(readdirSync(dir)).toEqual([])
  })

  it('never writes through a symbolic link or into a file planted at the temporary name', async () => {
    const path = join(dir, 'out.log')
    const victim = join(dir, 'victim')
    writeFileSync(victim, 'victim')
    symlinkSync(victim, join(dir, '.out.log.aaaaaaaaaaaa.partial'))
    writeFileSync(join(dir, '.out.log.bbbbbbbbbbbb.partial'), 'planted')
    hooks.suffixes = [Buffer.from('aaaaaa', 'hex'), Buffer.from('bbbbbb', 'hex')].map((b) =>
      Buffer.concat([b, b]),
    )
    const file = AtomicFile.open(path)
    expect(basename(file.tempPath)).not.toMatch(/aaaa|bbbb/)
    file.writeSync(Buffer.from('mine'))
    await file.commit()
    expect(readFileSync(path, 'utf8')).toBe('mine')
    expect(readFileSync(victim, 'utf8')).toBe('victim')
    expect(readFileSync(join(dir, '.out.log.bbbbbbbbbbbb.partial'), 'utf8')).toBe('planted')
  })

  it('commit: everything written, fsynced, renamed into place, then the directory fsynced', async () => {
    const path = join(dir, 'out.bin')
    const file = AtomicFile.open(path)
    const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(100_000, i))
    await writeChunks(file, chunks)
    vi.clearAllMocks()
    hooks.fsynced = []
    await file.commit()
    expect(readFileSync(path).equals(Buffer.concat(chunks))).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['out.bin'])

    const order = (fn: typeof fsyncSync | typeof renameSync | typeof openSync, i: number) =>
      vi.mocked(fn).mock.invocationCallOrder[i]
    const rename = vi
      .mocked(renameSync)
      .mock.calls.findIndex(([from, to]) => from === file.tempPath && to === path)
    expect(rename).toBeGreaterThanOrEqual(0)
    const dirOpen = vi
      .mocked(openSync)
      .mock.calls.findIndex(([p, flags]) => p === dir && ((flags as number) & constants.O_DIRECTORY) !== 0)
    expect(dirOpen, 'the directory is opened to be fsynced').toBeGreaterThanOrEqual(0)
    const dirFd = vi.mocked(openSync).mock.results[dirOpen].value as number
    // (The directory may get the number the file's descriptor had: tell them apart by what they are.)
    const fileSync = hooks.fsynced.indexOf('file')
    const dirSync = hooks.fsynced.indexOf('dir')
    expect(vi.mocked(fsyncSync).mock.calls[dirSync]?.[0]).toBe(dirFd)
    expect(fileSync, 'the file is fsynced').toBeGreaterThanOrEqual(0)
    expect(dirSync, 'the directory is fsynced').toBeGreaterThanOrEqual(0)
    expect(order(fsyncSync, fileSync)).toBeLessThan(order(renameSync, rename))
    expect(order(renameSync, rename)).toBeLessThan(order(openSync, dirOpen))
    expect(order(openSync, dirOpen)).toBeLessThan(order(fsyncSync, dirSync))
    // The directory's descriptor is closed again.
    expect(vi.mocked(closeSync).mock.calls.some(([fd]) => fd === dirFd)).toBe(true)
    expect(fdsOpenOn(path) ?? 0).toBe(0)
  })

  it('a stream write error (ENOSPC): recorded, commit rejects with it explained, the temporary file closed and removed, nothing under the final name', async () => {
    const path = join(dir, 'capture.log')
    const file = AtomicFile.open(path)
    hooks.streamFail = { after: 2, codes: ['ENOSPC'] }
    await writeChunks(
      file,
      Array.from({ length: 6 }, () => Buffer.alloc(64 * 1024, 1)),
    )
    expect(file.error).toMatchObject({ code: 'ENOSPC' })
    const err = await file.commit().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(OperationError)
    expect(err).toMatchObject({
      exitCode: 5,
      code: 'disk-full',
      message: `cannot write ${path}: the disk holding ${dir} is full (ENOSPC); no partial file was left behind`,
      hint: expect.stringContaining('Free space'),
      cause: { code: 'ENOSPC' },
    })
    expect(readdirSync(dir)).toEqual([])
    expect(fdsOpenOn(file.tempPath) ?? 0).toBe(0)
    // Asked again: the same answer, still nothing written.
    await expect(file.commit()).rejects.toMatchObject({ code: 'disk-full' })
    expect(existsSync(path)).toBe(false)
  })

  it('commit rejects even when the only failing write is the last one, flushed by commit itself', async () => {
    const path = join(dir, 'small.log')
    const file = AtomicFile.open(path)
    hooks.streamFail = { after: 0, codes: ['EIO'] }
    // A small write is accepted into the stream's buffer at once: the error comes during commit().
    expect(file.writeStream().write(Buffer.from('tail'))).toBe(true)
    await expect(file.commit()).rejects.toMatchObject({
      exitCode: 5,
      code: 'io-error',
      cause: { code: 'EIO' },
    })
    expect(readdirSync(dir)).toEqual([])
  })

  it('with a deep write buffer (bufferBytes), writes are taken without waiting; a failing one still makes commit reject, nothing under the final name', async () => {
    const path = join(dir, 'deep.rdb')
    const file = AtomicFile.open(path, { bufferBytes: 1024 * 1024 })
    hooks.streamFail = { after: 1, codes: ['ENOSPC'] }
    const out = file.writeStream()
    const accepted = Array.from({ length: 6 }, () => out.write(Buffer.alloc(64 * 1024, 7)))
    expect(accepted).toEqual([true, true, true, true, true, true])
    await expect(file.commit()).rejects.toMatchObject({
      exitCode: 5,
      code: 'disk-full',
      cause: { code: 'ENOSPC' },
    })
    expect(readdirSync(dir)).toEqual([])
    expect(existsSync(path)).toBe(false)
  })

  it('with a deep write buffer, a good run writes every byte in order', async () => {
    const path = join(dir, 'deep-ok.rdb')
    const file = AtomicFile.open(path, { bufferBytes: 1024 * 1024 })
    const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(64 * 1024 + i, i))
    await writeChunks(file, chunks)
    await file.commit()
    expect(readFileSync(path).equals(Buffer.concat(chunks))).toBe(true)
  })

  it('the first error is the one reported; an existing file under the final name is left as it was', async () => {
    const path = join(dir, 'dump.rdb')
    writeFileSync(path, 'the previous snapshot')
    const file = AtomicFile.open(path, { overwrite: true })
    hooks.streamFail = { after: 1, codes: ['ENOSPC'] }
    await writeChunks(file, [Buffer.alloc(70_000), Buffer.alloc(70_000), Buffer.alloc(70_000)])
    expect(file.error).toMatchObject({ code: 'ENOSPC' })
    // A later error on the same stream does not replace the first.
    file.writeStream().emit('error', errno('EIO'))
    await expect(file.commit()).rejects.toMatchObject({ code: 'disk-full', cause: { code: 'ENOSPC' } })
    expect(readFileSync(path, 'utf8')).toBe('the previous snapshot')
    expect(readdirSync(dir)).toEqual(['dump.rdb'])
  })

  it('writeSync: short writes are completed; an error is thrown explained, and commit rejects and removes the file', async () => {
    const path = join(dir, 'report.json')
    const file = AtomicFile.open(path)
    hooks.syncWriteMax = 3
    file.writeSync(Buffer.from('{"complete": true}\n'))
    hooks.syncWriteMax = undefined
    hooks.syncWriteError = 'EDQUOT'
    expect(() => file.writeSync(Buffer.from('more'))).toThrow(/quota for .* is used up \(EDQUOT\)/)
    hooks.syncWriteError = undefined
    // Later writes do not paper over the failure.
    expect(() => file.writeSync(Buffer.from('again'))).toThrow(OperationError)
    await expect(file.commit()).rejects.toMatchObject({ code: 'quota-exceeded', exitCode: 5 })
    expect(readdirSync(dir)).toEqual([])

    const ok = AtomicFile.open(path)
    hooks.syncWriteMax = 2
    ok.writeSync(Buffer.from('{"complete": true}\n'))
    await ok.commit()
    expect(readFileSync(path, 'utf8')).toBe('{"complete": true}\n')
  })

  it('an fsync error at commit (EIO): rejects, nothing under the final name, no temporary file', async () => {
    const path = join(dir, 'state.json')
    const file = AtomicFile.open(path)
    file.writeSync(Buffer.from('{}'))
    hooks.fileFsyncError = 'EIO'
    await expect(file.commit()).rejects.toMatchObject({
      code: 'io-error',
      message: expect.stringContaining('reported an I/O error (EIO)'),
    })
    expect(vi.mocked(renameSync)).not.toHaveBeenCalled()
    expect(readdirSync(dir)).toEqual([])
  })

  it('a failing directory fsync after the rename: rejects and leaves nothing under the final name', async () => {
    const path = join(dir, 'out.log')
    const file = AtomicFile.open(path)
    file.writeSync(Buffer.from('data'))
    hooks.dirFsyncError = 'EIO'
    await expect(file.commit()).rejects.toMatchObject({ code: 'io-error', exitCode: 5 })
    expect(readdirSync(dir)).toEqual([])
  })

  it('sync() then commit(): written and fsynced first, renamed only by commit()', async () => {
    const path = join(dir, 'part-0001.rdb')
    const file = AtomicFile.open(path)
    await writeChunks(file, [Buffer.from('part')])
    await file.sync()
    expect(existsSync(path)).toBe(false)
    expect(readFileSync(file.tempPath, 'utf8')).toBe('part')
    await file.commit()
    expect(readdirSync(dir)).toEqual(['part-0001.rdb'])

    const other = AtomicFile.open(join(dir, 'part-0002.rdb'))
    other.writeSync(Buffer.from('x'))
    await other.sync()
    other.abort()
    expect(readdirSync(dir)).toEqual(['part-0001.rdb'])
  })

  it('abort(): closes and removes the temporary file, the final name untouched (with and without a stream)', async () => {
    const path = join(dir, 'keep.log')
    writeFileSync(path, 'keep me')
    const streamed = AtomicFile.open(path, { overwrite: true })
    const out = streamed.writeStream()
    out.write(Buffer.alloc(200_000, 7))
    streamed.abort()
    if (!out.closed) await once(out, 'close')
    const plain = AtomicFile.open(path, { overwrite: true })
    plain.writeSync(Buffer.from('not this'))
    plain.discard()
    expect(readdirSync(dir)).toEqual(['keep.log'])
    expect(readFileSync(path, 'utf8')).toBe('keep me')
    expect(fdsOpenOn(streamed.tempPath) ?? 0).toBe(0)
    expect(fdsOpenOn(plain.tempPath) ?? 0).toBe(0)
    await expect(plain.commit()).rejects.toThrow(/aborted/)
    expect(readFileSync(path, 'utf8')).toBe('keep me')
  })

  it('refuses an existing file without overwrite, and an unwritable place, before anything is written (exit 2)', () => {
    const path = join(dir, 'exists.txt')
    writeFileSync(path, 'x')
    expect(() => AtomicFile.open(path)).toThrow(UsageError)
    expect(() => AtomicFile.open(join(dir, 'missing', 'f.txt'))).toThrow(/cannot write .*ENOENT/)
    expect(readdirSync(dir)).toEqual(['exists.txt'])
  })
})

describe('fileWriteError', () => {
  it('says what a file-system error means and what to do, as a failure midway (exit 5)', () => {
    const cases: [string, RegExp, RegExp, string][] = [
      ['ENOSPC', /the disk holding \/data\/out is full \(ENOSPC\)/, /Free space on that disk/, 'disk-full'],
      ['EDQUOT', /the disk quota for \/data\/out is used up \(EDQUOT\)/, /quota/, 'quota-exceeded'],
      ['EIO', /the disk holding \/data\/out reported an I\/O error \(EIO\)/, /Check that disk/, 'io-error'],
      ['EROFS', /\/data\/out is on a read-only file system \(EROFS\)/, /writable disk/, 'read-only'],
    ]
    for (const [code, message, hint, reason] of cases) {
      const err = fileWriteError(errno(code), '/data/out/dump.rdb')
      expect(err).toBeInstanceOf(OperationError)
      expect(err.exitCode).toBe(5)
      expect(err.code).toBe(reason)
      expect(err.message).toMatch(/^cannot write \/data\/out\/dump\.rdb: /)
      expect(err.message).toMatch(message)
      expect(err.message).toMatch(/no partial file was left behind$/)
      expect(err.hint).toMatch(hint)
      expect(err.message).not.toMatch(/internal error/)
    }
    const other = fileWriteError(errno('EFBIG'), 'x.log')
    expect(other).toMatchObject({
      exitCode: 5,
      code: 'write-failed',
      message: 'cannot write x.log: EFBIG; no partial file was left behind',
    })
    const known = new KvtopError(3, 'already explained')
    expect(fileWriteError(known, 'x.log')).toBe(known)
    // A relative path: the directory is named in full.
    expect(fileWriteError(errno('ENOSPC'), 'dump.rdb').message).toContain(`holding ${process.cwd()} is full`)
  })
})
