/**
 * JSON.parse with an error that says where: line, column and position of the first thing that is
 * not JSON, and what was expected there. V8's own messages name no position for the commonest
 * mistakes ("Unexpected token '}', ... is not valid JSON") and quote the surrounding text, which in
 * a config file may be a password; these name one character at most.
 */
class JsonTextError extends Error {
  constructor(
    /** What is wrong, e.g. "unexpected '}'". */
    readonly reason: string,
    /** Index in the text (UTF-16 code units) where it is wrong. */
    readonly position: number,
    /** 1-based. */
    readonly line: number,
    readonly column: number,
    /** What JSON allows there, if one thing can be named. */
    readonly expected?: string,
  ) {
    super(
      `${reason} in JSON at line ${line}, column ${column} (position ${position})${expected ? `: expected ${expected}` : ''}`,
    )
    this.name = 'JsonTextError'
  }
}

/** Parse JSON text; a syntax error is a JsonTextError naming its position. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err
    const located = locateJsonError(text)
    if (located) throw located
    // Not found by the scanner (should not happen): V8's position if it gives one, not its text.
    const m = /at position (\d+)/.exec(err.message)
    throw errorAt(text, m ? Number(m[1]) : text.length, 'invalid JSON')
  }
}

function errorAt(text: string, position: number, reason: string, expected?: string): JsonTextError {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++
      lineStart = i + 1
    }
  }
  return new JsonTextError(reason, position, line, position - lineStart + 1, expected)
}

function describe(text: string, at: number): string {
  if (at >= text.length) return 'end of the file'
  const c = text.charCodeAt(at)
  if (c === 0xfeff) return 'byte-order mark (U+FEFF)'
  if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0))
    return `control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`
  return `'${String.fromCodePoint(text.codePointAt(at)!)}'`
}

const ARRAY = 0
const OBJECT = 1

/**
 * Find the first syntax error in `text` (RFC 8259), or undefined when it is valid JSON. Iterative:
 * any nesting depth.
 */
export function locateJsonError(text: string): JsonTextError | undefined {
  const n = text.length
  let i = 0
  const stack: number[] = []
  const fail = (at: number, expected?: string, reason = `unexpected ${describe(text, at)}`) =>
    errorAt(text, at, reason, expected)
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++
      else break
    }
  }
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39
  const digits = (): boolean => {
    if (!isDigit(text.charCodeAt(i))) return false
    while (isDigit(text.charCodeAt(i))) i++
    return true
  }
  const string = (): JsonTextError | undefined => {
    const start = i
    i++ // the opening quote
    for (;;) {
      if (i >= n) return fail(start, "a closing '\"'", 'unterminated string')
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        return undefined
      }
      if (c < 0x20) return fail(i, 'a character or an escape', `${describe(text, i)} in a string`)
      if (c === 0x5c) {
        const e = text[i + 1]
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)))
            return fail(i, 'four hex digits after \\u', 'invalid \\u escape')
          i += 6
          continue
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e))
          return fail(i, 'one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX', 'invalid escape')
        i += 2
        continue
      }
      i++
    }
  }
  const key = (): JsonTextError | undefined => {
    ws()
    if (text.charCodeAt(i) !== 0x22) return fail(i, 'a property name in double quotes')
    const e = string()
    if (e) return e
    ws()
    if (text.charCodeAt(i) !== 0x3a) return fail(i, "':' after the property name")
    i++
    return undefined
  }
  let wantValue = true
  for (;;) {
    ws()
    if (wantValue) {
      const c = text.charCodeAt(i)
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        i++
        ws()
        if (text.charCodeAt(i) === (c === 0x7b ? 0x7d : 0x5d)) {
          i++
          wantValue = false
          continue
        }
        if (c === 0x5b) {
          stack.push(ARRAY)
          continue
        }
        stack.push(OBJECT)
        const e = key()
        if (e) return e
        continue
      }
      if (c === 0x22) {
        const e = string()
        if (e) return e
        wantValue = false
        continue
      }
      if (c === 0x2d /* - */ || isDigit(c)) {
        if (c === 0x2d) i++
        if (text.charCodeAt(i) === 0x30) i++
        else if (!digits()) return fail(i, 'a digit')
        if (text.charCodeAt(i) === 0x2e) {
          i++
          if (!digits()) return fail(i, 'a digit after the decimal point')
        }
        if (text.charCodeAt(i) === 0x65 || text.charCodeAt(i) === 0x45) {
          i++
          if (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d) i++
          if (!digits()) return fail(i, 'a digit in the exponent')
        }
        wantValue = false
        continue
      }
      const literal = ['true', 'false', 'null'].find((w) => text.startsWith(w, i))
      if (literal) {
        i += literal.length
        wantValue = false
        continue
      }
      return fail(i, 'a value (object, array, string, number, true, false or null)')
    }
    if (stack.length === 0) return i < n ? fail(i, 'nothing after the JSON value') : undefined
    const inArray = stack[stack.length - 1] === ARRAY
    const c = text.charCodeAt(i)
    if (c === 0x2c /* , */) {
      i++
      if (!inArray) {
        const e = key()
        if (e) return e
      }
      wantValue = true
      continue
    }
    if (c === (inArray ? 0x5d : 0x7d)) {
      i++
      stack.pop()
      continue
    }
    return fail(i, inArray ? "',' or ']'" : "',' or '}'")
  }
}
