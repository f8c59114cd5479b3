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
  return new JsonScanner(text).firstError()
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39

/**
 * A scan through JSON text: a value where one is wanted, otherwise what may follow a value in the
 * open array or object (the stack), until the text ends or something in it is not JSON.
 */
class JsonScanner {
  private i = 0
  private readonly stack: number[] = []
  private wantValue = true

  constructor(private readonly text: string) {}

  firstError(): JsonTextError | undefined {
    for (;;) {
      this.ws()
      if (this.wantValue) {
        const e = this.value()
        if (e) return e
        continue
      }
      if (this.stack.length === 0)
        return this.i < this.text.length ? this.fail(this.i, 'nothing after the JSON value') : undefined
      const e = this.afterValue()
      if (e) return e
    }
  }

  private fail(
    at: number,
    expected?: string,
    reason = `unexpected ${describe(this.text, at)}`,
  ): JsonTextError {
    return errorAt(this.text, at, reason, expected)
  }

  private code(): number {
    return this.text.charCodeAt(this.i)
  }

  /** A value at `i`, or the opening of an array or object (whose first value is then wanted). */
  private value(): JsonTextError | undefined {
    const c = this.code()
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) return this.open(c)
    this.wantValue = false
    if (c === 0x22) return this.string()
    if (c === 0x2d /* - */ || isDigit(c)) return this.number()
    const literal = ['true', 'false', 'null'].find((w) => this.text.startsWith(w, this.i))
    if (literal) {
      this.i += literal.length
      return undefined
    }
    return this.fail(this.i, 'a value (object, array, string, number, true, false or null)')
  }

  private open(c: number): JsonTextError | undefined {
    this.i++
    this.ws()
    if (this.code() === (c === 0x7b ? 0x7d : 0x5d)) {
      this.i++
      this.wantValue = false
      return undefined
    }
    this.stack.push(c === 0x5b ? ARRAY : OBJECT)
    return c === 0x7b ? this.key() : undefined
  }

  /** After a value inside an array or object: ',' and the next one, or the closing bracket. */
  private afterValue(): JsonTextError | undefined {
    const inArray = this.stack[this.stack.length - 1] === ARRAY
    const c = this.code()
    if (c === 0x2c /* , */) {
      this.i++
      this.wantValue = true
      return inArray ? undefined : this.key()
    }
    if (c === (inArray ? 0x5d : 0x7d)) {
      this.i++
      this.stack.pop()
      return undefined
    }
    return this.fail(this.i, inArray ? "',' or ']'" : "',' or '}'")
  }

  private ws(): void {
    const text = this.text
    while (this.i < text.length) {
      const c = text.charCodeAt(this.i)
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++
      else break
    }
  }

  private digits(): boolean {
    if (!isDigit(this.code())) return false
    while (isDigit(this.code())) this.i++
    return true
  }

  private number(): JsonTextError | undefined {
    if (this.code() === 0x2d) this.i++
    if (this.code() === 0x30) this.i++
    else if (!this.digits()) return this.fail(this.i, 'a digit')
    if (this.code() === 0x2e) {
      this.i++
      if (!this.digits()) return this.fail(this.i, 'a digit after the decimal point')
    }
    if (this.code() === 0x65 || this.code() === 0x45) {
      this.i++
      if (this.code() === 0x2b || this.code() === 0x2d) this.i++
      if (!this.digits()) return this.fail(this.i, 'a digit in the exponent')
    }
    return undefined
  }

  private string(): JsonTextError | undefined {
    const text = this.text
    const start = this.i
    this.i++ // the opening quote
    for (;;) {
      const i = this.i
      if (i >= text.length) return this.fail(start, "a closing '\"'", 'unterminated string')
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        this.i++
        return undefined
      }
      if (c < 0x20) return this.fail(i, 'a character or an escape', `${describe(text, i)} in a string`)
      if (c !== 0x5c) {
        this.i++
        continue
      }
      const e = text[i + 1]
      if (e === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)))
          return this.fail(i, 'four hex digits after \\u', 'invalid \\u escape')
        this.i += 6
        continue
      }
      if (e === undefined || !'"\\/bfnrt'.includes(e))
        return this.fail(i, 'one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX', 'invalid escape')
      this.i += 2
    }
  }

  /** A property name and its ':'. */
  private key(): JsonTextError | undefined {
    this.ws()
    if (this.code() !== 0x22) return this.fail(this.i, 'a property name in double quotes')
    const e = this.string()
    if (e) return e
    this.ws()
    if (this.code() !== 0x3a) return this.fail(this.i, "':' after the property name")
    this.i++
    return undefined
  }
}
