/**
 * The multibulk commands of a RESP command stream, found in place: each complete, well-formed
 * `*N` frame gets its bounds recorded in typed arrays that are reused from scan to scan, so a run
 * of a million commands costs no object (and no native call) per command. Whatever else comes — an
 * inline command, an annotation, a blank line, a frame cut by the end of the bytes at hand, a
 * malformed one — ends the scan there: the RespCommandParser reads that record and reports its
 * errors in its own words.
 */

const CR = 0x0d
const LF = 0x0a
/** Longest count or length read here (9 digits: below 2^31); longer ones go to the parser. */
const MAX_DIGITS = 9
/** The parser's limit on a command's argument count. */
const MAX_ARGS = 64 * 1024 * 1024

export class FrameScanner {
  /** Frames recorded by the last scan. */
  count = 0
  /** Frame k is buf[start[k]..end[k]): its bytes as the stream holds them. */
  start = new Int32Array(0)
  end = new Int32Array(0)
  argc = new Int32Array(0)
  /** Its first argument (the command's name). */
  nameStart = new Int32Array(0)
  nameEnd = new Int32Array(0)
  /** Its second argument (the key of most commands); -1 when it has none. */
  arg1Start = new Int32Array(0)
  arg1End = new Int32Array(0)

  constructor(private readonly capacity = 4096) {
    this.grow(Math.min(capacity, 1024))
  }

  /**
   * Record the complete frames of buf[from..to), at most `capacity` of them; returns where the
   * first byte not recorded is (`from` when the first record is not a complete frame).
   */
  scan(buf: Uint8Array, from: number, to = buf.length): number {
    this.count = 0
    // Offsets are kept in 32 bits: larger buffers (a value of gigabytes) are left to the parser.
    if (to > 0x7fffffff) return from
    let p = from
    while (this.count < this.capacity && p < to && buf[p] === 0x2a) {
      let i = p + 1
      let argc = 0
      const digits = i
      for (let c = buf[i]; i < to && c >= 0x30 && c <= 0x39; c = buf[++i]) argc = argc * 10 + (c - 0x30)
      if (i === digits || i - digits > MAX_DIGITS || argc < 1 || argc > MAX_ARGS || i + 1 >= to) break
      if (buf[i] !== CR || buf[i + 1] !== LF) break
      i += 2
      let nameStart = -1
      let nameEnd = -1
      let arg1Start = -1
      let arg1End = -1
      let a = 0
      for (; a < argc; a++) {
        if (i >= to || buf[i] !== 0x24) break
        let j = i + 1
        let len = 0
        for (let c = buf[j]; j < to && c >= 0x30 && c <= 0x39; c = buf[++j]) len = len * 10 + (c - 0x30)
        if (j === i + 1 || j - i - 1 > MAX_DIGITS || j + 1 >= to || buf[j] !== CR || buf[j + 1] !== LF) break
        const dataStart = j + 2
        const dataEnd = dataStart + len
        if (dataEnd + 2 > to || buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) break
        if (a === 0) {
          nameStart = dataStart
          nameEnd = dataEnd
        } else if (a === 1) {
          arg1Start = dataStart
          arg1End = dataEnd
        }
        i = dataEnd + 2
      }
      if (a < argc) break
      const k = this.count
      if (k === this.start.length) this.grow(k * 2)
      this.start[k] = p
      this.end[k] = i
      this.argc[k] = argc
      this.nameStart[k] = nameStart
      this.nameEnd[k] = nameEnd
      this.arg1Start[k] = arg1Start
      this.arg1End[k] = arg1End
      this.count = k + 1
      p = i
    }
    return p
  }

  private grow(size: number): void {
    const more = (old: Int32Array) => {
      const next = new Int32Array(size)
      next.set(old)
      return next
    }
    this.start = more(this.start)
    this.end = more(this.end)
    this.argc = more(this.argc)
    this.nameStart = more(this.nameStart)
    this.nameEnd = more(this.nameEnd)
    this.arg1Start = more(this.arg1Start)
    this.arg1End = more(this.arg1End)
  }
}

/**
 * Views of the arguments of the well-formed frame at buf[start]: for a command whose bytes were
 * copied as they are (into a batch) and whose arguments are wanted again, rarely.
 */
export function frameArgsAt(buf: Buffer, start: number): Buffer[] {
  let i = start + 1
  let argc = 0
  for (; buf[i] !== CR; i++) argc = argc * 10 + (buf[i] - 0x30)
  i += 2
  const args: Buffer[] = new Array(argc)
  for (let a = 0; a < argc; a++) {
    let len = 0
    for (i++; buf[i] !== CR; i++) len = len * 10 + (buf[i] - 0x30)
    args[a] = buf.subarray(i + 2, i + 2 + len)
    i += 2 + len + 2
  }
  return args
}
