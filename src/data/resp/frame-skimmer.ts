import { readSync } from 'node:fs'

/**
 * The multibulk commands of a RESP file walked by their headers only: a command's name is read,
 * its other arguments are skipped by their declared lengths (a 100 KB value is never read into
 * memory, only its CRLF is), and one reused buffer holds what is read, so a pass over a log costs
 * no allocation per command or per chunk. Commands whose name asks for it (`wantsWhole`) are held
 * whole in the buffer, for their arguments to be looked at.
 *
 * It reads well-formed `*N` frames, as FrameScanner does, and `#...` annotation lines: whatever
 * else comes (an inline command, a blank line, a malformed or cut-off frame, one too big to hold) stops it
 * there, at `offset`, for a full parser to read from that frame on with its own words for errors.
 */

const CR = 0x0d
const LF = 0x0a
/** `*` or `$`, 9 digits (below 2^31, as FrameScanner reads them), CRLF. */
const HEADER_MAX = 12
const MAX_DIGITS = 9
const MAX_ARGS = 64 * 1024 * 1024
const MiB = 1024 * 1024
/** Read after a jump past a skipped value. */
const AFTER_JUMP = 8 * 1024
/** Longer annotation lines go to the parser. */
const MAX_ANNOTATION = 4096
/** A frame this big goes to the parser (which has its own limit on a command's size). */
const MAX_FRAME = 1024 * 1024 * 1024
/** The most a frame held whole (or a command name) may take of the buffer. */
const MAX_WHOLE = 64 * 1024 * 1024

export class FrameSkimmer {
  /** File offset of the current frame once next() returned true; where it stopped once false. */
  offset: number
  /** The current frame's size in bytes. */
  size = 0
  /** Held whole (its name asked for it): the frame is buf[start..start + size). */
  whole = false
  /** Not a command: an annotation line, whose text (after `#`) is buf[start..textEnd). */
  annotation = false
  textEnd = 0
  buf: Buffer
  start = -1
  /** MiB read from the file so far (a caller yields to the event loop every few). */
  reads = 0
  /** File offset of buf[0], and how many bytes of buf hold the file. */
  private base: number
  private held = 0
  /** File offset of the frame after the current one. */
  private following: number

  constructor(
    private readonly fd: number,
    private readonly fileSize: number,
    from: number,
    private readonly wantsWhole: (buf: Buffer, nameStart: number, nameEnd: number) => boolean,
    capacity = MiB,
  ) {
    this.buf = Buffer.allocUnsafe(capacity)
    this.offset = from
    this.base = from
    this.following = from
  }

  /** Did the last next() stop at the end of the file (rather than at something it does not read)? */
  get atEnd(): boolean {
    return this.offset >= this.fileSize
  }

  /** The next frame: true when one was read, false at the end of the file or where it stops. */
  next(): boolean {
    const frame = this.following
    this.offset = frame
    if (frame >= this.fileSize) return false
    // Near the end of the file fewer bytes than a header may be left: `held` bounds every read.
    if (frame + HEADER_MAX > this.base + this.held) this.ensure(frame, HEADER_MAX, frame)
    let i = frame - this.base
    if (i < this.held && this.buf[i] === 0x23) return this.annotationAt(frame)
    this.annotation = false
    if (i >= this.held || this.buf[i] !== 0x2a) return false
    const argc = headerValue(this.buf, i + 1, this.held)
    if (argc < 1 || argc > MAX_ARGS) return false
    let at = frame + 1 + digits + 2
    let keepFrom = frame
    this.whole = false
    // The buffer's state in locals, taken again after each read (ensure) only.
    let buf = this.buf
    let base = this.base
    let heldEnd = base + this.held
    for (let a = 0; a < argc; a++) {
      if (at + HEADER_MAX > heldEnd) {
        this.ensure(at, HEADER_MAX, keepFrom)
        buf = this.buf
        base = this.base
        heldEnd = base + this.held
      }
      i = at - base
      if (at >= heldEnd || buf[i] !== 0x24) return false
      const len = headerValue(buf, i + 1, heldEnd - base)
      if (len < 0) return false
      const dataStart = at + 1 + digits + 2
      const dataEnd = dataStart + len
      if (dataEnd + 2 - frame > MAX_FRAME) return false
      if (a === 0) {
        // The name is read, and with it whether the frame is wanted whole.
        if (dataEnd + 2 > heldEnd) {
          if (!this.ensure(dataStart, len + 2, frame)) return false
          buf = this.buf
          base = this.base
          heldEnd = base + this.held
        }
        this.whole = this.wantsWhole(buf, dataStart - base, dataEnd - base)
        if (!this.whole) keepFrom = -1
      }
      // Of a value skipped, only the CRLF after it is read.
      if (dataEnd + 2 > heldEnd) {
        const held = keepFrom >= 0 ? this.ensure(dataStart, len + 2, keepFrom) : this.ensure(dataEnd, 2, -1)
        if (!held) return false
        buf = this.buf
        base = this.base
        heldEnd = base + this.held
      }
      i = dataEnd - base
      if (buf[i] !== CR || buf[i + 1] !== LF) return false
      at = dataEnd + 2
    }
    this.size = at - frame
    this.start = this.whole ? frame - base : -1
    this.following = at
    return true
  }

  /** A `#...` line ending in CRLF (an AOF annotation such as `#TS:<unix>`), held whole. */
  private annotationAt(frame: number): boolean {
    if (frame + MAX_ANNOTATION > this.base + this.held) this.ensure(frame, MAX_ANNOTATION, frame)
    const i = frame - this.base
    const cr = this.buf.indexOf(CR, i + 1)
    if (cr < 0 || cr + 1 >= this.held || cr - i > MAX_ANNOTATION || this.buf[cr + 1] !== LF) return false
    this.annotation = true
    this.whole = false
    this.start = i + 1
    this.textEnd = cr
    this.size = cr + 2 - i
    this.following = frame + this.size
    return true
  }

  /**
   * Make buf hold the file's bytes [at, at + n), keeping those from `keepFrom` on (-1: none
   * before `at`); false when the file ends first or they cannot be held.
   */
  private ensure(at: number, n: number, keepFrom: number): boolean {
    if (at + n <= this.base + this.held) return true
    const from = keepFrom >= 0 ? keepFrom : at
    const need = at + n - from
    if (need > this.buf.length) {
      if (need > MAX_WHOLE) return false
      const bigger = Buffer.allocUnsafe(Math.max(need, 2 * this.buf.length))
      this.buf.copy(bigger, 0, 0, this.held)
      this.buf = bigger
    }
    const heldEnd = this.base + this.held
    let kept = 0
    if (from >= this.base && from < heldEnd) {
      kept = heldEnd - from
      this.buf.copyWithin(0, from - this.base, this.held)
    }
    // Past a value skipped, a few KiB hold what follows it (the next header, or the CRLF after a
    // value bigger still): reading on to fill the buffer would read the values skipped.
    const jumped = from > heldEnd
    this.base = from
    this.held = kept
    const fill = jumped ? Math.min(this.buf.length, Math.max(need, AFTER_JUMP)) : this.buf.length
    while (this.held < fill && this.base + this.held < this.fileSize) {
      const got = readSync(this.fd, this.buf, this.held, fill - this.held, this.base + this.held)
      if (got === 0) break
      this.held += got
      this.reads += got / MiB
    }
    return at + n <= this.base + this.held
  }
}

/** Digits read by the last headerValue(). */
let digits = 0

/** The decimal integer at buf[i] ended by CRLF (1 to 9 digits, before `held`), or -1. */
function headerValue(buf: Buffer, i: number, held: number): number {
  const end = Math.min(held, i + MAX_DIGITS + 1)
  let n = 0
  let j = i
  for (let c = buf[j]; j < end && c >= 0x30 && c <= 0x39; c = buf[++j]) n = n * 10 + (c - 0x30)
  digits = j - i
  if (j === i || j + 1 >= held || buf[j] !== CR || buf[j + 1] !== LF) return -1
  return n
}
