/**
 * Redis 7 multi-part AOF manifest (`<appendfilename>.manifest` in `appenddirname`):
 *   file appendonly.aof.1.base.rdb seq 1 type b
 *   file appendonly.aof.1.incr.aof seq 1 type i
 * Types: b (base, RDB or AOF format), h (history, superseded by the base), i (incremental).
 * Names with special characters are written quoted, as sdscatrepr does.
 */
export interface ManifestEntry {
  file: string
  seq: number
  type: 'base' | 'history' | 'incr'
}

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message)
    this.name = 'ManifestError'
  }
}

const TYPES: Record<string, ManifestEntry['type']> = { b: 'base', h: 'history', i: 'incr' }

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
        if (i >= line.length) throw new ManifestError('unterminated quoted file name', lineNo)
        const c = line[i]
        if (c === '"') {
          i++
          break
        }
        if (c === '\\') {
          const n = line[i + 1]
          if (n === 'x') {
            out += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16))
            i += 4
          } else {
            out += { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' }[n] ?? n
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
    const fields: Record<string, string> = {}
    for (let i = 0; i + 1 < tokens.length; i += 2) fields[tokens[i]] = tokens[i + 1]
    if (!fields.file || !fields.seq || !fields.type) {
      throw new ManifestError(
        `line ${index + 1}: expected 'file NAME seq N type b|h|i', got '${line}'`,
        index + 1,
      )
    }
    const type = TYPES[fields.type]
    if (!type)
      throw new ManifestError(
        `line ${index + 1}: unknown file type '${fields.type}' (expected b, h or i)`,
        index + 1,
      )
    if (!/^\d+$/.test(fields.seq))
      throw new ManifestError(`line ${index + 1}: seq '${fields.seq}' is not a number`, index + 1)
    if (fields.file.includes('/'))
      throw new ManifestError(`line ${index + 1}: file name '${fields.file}' must not contain '/'`, index + 1)
    entries.push({ file: fields.file, seq: Number(fields.seq), type })
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
