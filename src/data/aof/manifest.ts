import { UsageError } from '../../errors.js'

/**
 * Redis 7 multi-part AOF manifest (`<appendfilename>.manifest` in `appenddirname`):
 *   file appendonly.aof.1.base.rdb seq 1 type b
 *   file appendonly.aof.1.incr.aof seq 1 type i
 * Types: b (base, RDB or AOF format), h (history, superseded by the base), i (incremental).
 * Names with special characters are written quoted, as sdscatrepr does.
 */
interface ManifestEntry {
  file: string
  seq: number
  type: 'base' | 'history' | 'incr'
}

/** A manifest that cannot be read (exit 2); `line` is 1-based, 0 for the manifest as a whole. */
export class ManifestError extends UsageError {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message, { code: 'bad-input' })
    this.name = 'ManifestError'
  }
}

const TYPES = new Map<string, ManifestEntry['type']>([
  ['b', 'base'],
  ['h', 'history'],
  ['i', 'incr'],
])

const ESCAPES = new Map([
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
  ['a', '\x07'],
  ['b', '\b'],
  ['"', '"'],
  ['\\', '\\'],
])

/** Split a manifest line into tokens, honouring "quoted \x.. escaped" names. */
function tokenize(line: string, lineNo: number): string[] {
  const tokens: string[] = []
  let i = 0
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++
    if (i >= line.length) break
    if (line[i] === '"') {
      let out = ''
      i++
      for (;;) {
        if (i >= line.length) throw new ManifestError(`line ${lineNo}: unterminated quoted file name`, lineNo)
        const c = line[i]
        if (c === '"') {
          i++
          break
        }
        if (c === '\\') {
          const n = line[i + 1]
          if (n === 'x') {
            const hex = line.slice(i + 2, i + 4)
            if (!/^[0-9a-fA-F]{2}$/.test(hex))
              throw new ManifestError(
                `line ${lineNo}: invalid \\x escape in a quoted file name (column ${i + 1})`,
                lineNo,
              )
            out += String.fromCharCode(parseInt(hex, 16))
            i += 4
          } else {
            if (n === undefined)
              throw new ManifestError(`line ${lineNo}: unterminated quoted file name`, lineNo)
            out += ESCAPES.get(n) ?? n
            i += 2
          }
          continue
        }
        out += c
        i++
      }
      tokens.push(out)
    } else {
      const start = i
      while (i < line.length && line[i] !== ' ' && line[i] !== '\t') i++
      tokens.push(line.slice(start, i))
    }
  }
  return tokens
}

export function parseManifest(text: string): ManifestEntry[] {
  const entries: ManifestEntry[] = []
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').trim()
    if (!line || line.startsWith('#')) return
    const tokens = tokenize(line, index + 1)
    const fields = new Map<string, string>()
    for (let i = 0; i + 1 < tokens.length; i += 2) fields.set(tokens[i], tokens[i + 1])
    const get = (name: string) => fields.get(name) ?? ''
    // Redis wants key/value pairs, at least file, seq and type.
    if (tokens.length % 2 || !get('file') || !get('seq') || !get('type')) {
      throw new ManifestError(
        `line ${index + 1}: expected 'file NAME seq N type b|h|i', got '${line.length > 300 ? `${line.slice(0, 300)}...` : line}'`,
        index + 1,
      )
    }
    const file = get('file')
    const seq = get('seq')
    const type = TYPES.get(get('type'))
    if (!type)
      throw new ManifestError(
        `line ${index + 1}: unknown file type '${get('type').slice(0, 40)}' (expected b, h or i)`,
        index + 1,
      )
    if (!/^\d{1,15}$/.test(seq))
      throw new ManifestError(`line ${index + 1}: seq '${seq.slice(0, 40)}' is not a number`, index + 1)
    if (file.includes('/'))
      throw new ManifestError(`line ${index + 1}: file name '${file}' must not contain '/'`, index + 1)
    if (file === '.' || file === '..' || file.includes('\0'))
      throw new ManifestError(`line ${index + 1}: ${JSON.stringify(file)} is not a file name`, index + 1)
    entries.push({ file, seq: Number(seq), type })
  })
  const bases = entries.filter((e) => e.type === 'base')
  if (bases.length > 1) throw new ManifestError('the manifest names more than one base file', 0)
  return entries
}

/** The files to replay, in order: the base, then incremental files by sequence. History is skipped. */
export function replayOrder(entries: ManifestEntry[]): ManifestEntry[] {
  return [
    ...entries.filter((e) => e.type === 'base'),
    ...entries.filter((e) => e.type === 'incr').sort((a, b) => a.seq - b.seq),
  ]
}
