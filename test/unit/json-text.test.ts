import { describe, expect, it } from 'vitest'
import { locateJsonError } from '../../src/json-text.js'

const where = (text: string) => locateJsonError(text)?.message

describe('locateJsonError', () => {
  it('valid JSON of any nesting has no error', () => {
    for (const text of [
      '0',
      '-0.5e+3',
      '"a\\u00e9\\n"',
      '[]',
      '{}',
      ' { "a" : [ 1 , { "b" : null } ] } ',
      '['.repeat(5000) + ']'.repeat(5000),
    ])
      expect(where(text), text).toBeUndefined()
  })

  it('names each mistake where it is and what JSON allows there', () => {
    const cases: [string, string][] = [
      ['[1 2]', "unexpected '2' in JSON at line 1, column 4 (position 3): expected ',' or ']'"],
      ['{"a":1 "b"}', `unexpected '"' in JSON at line 1, column 8 (position 7): expected ',' or '}'`],
      [
        '{"a" 1}',
        "unexpected '1' in JSON at line 1, column 6 (position 5): expected ':' after the property name",
      ],
      [
        '{\n  1: 2}',
        "unexpected '1' in JSON at line 2, column 3 (position 4): expected a property name in double quotes",
      ],
      [
        '{"a":1,}',
        "unexpected '}' in JSON at line 1, column 8 (position 7): expected a property name in double quotes",
      ],
      [
        '[1,]',
        "unexpected ']' in JSON at line 1, column 4 (position 3): expected a value (object, array, string, number, true, false or null)",
      ],
      ['-x', "unexpected 'x' in JSON at line 1, column 2 (position 1): expected a digit"],
      [
        '1.e5',
        "unexpected 'e' in JSON at line 1, column 3 (position 2): expected a digit after the decimal point",
      ],
      [
        '1e+',
        'unexpected end of the file in JSON at line 1, column 4 (position 3): expected a digit in the exponent',
      ],
      [
        '01',
        "unexpected '1' in JSON at line 1, column 2 (position 1): expected nothing after the JSON value",
      ],
      ['"ab', `unterminated string in JSON at line 1, column 1 (position 0): expected a closing '"'`],
      [
        '"a\\x"',
        'invalid escape in JSON at line 1, column 3 (position 2): expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX',
      ],
      [
        '"\\u12g4"',
        'invalid \\u escape in JSON at line 1, column 2 (position 1): expected four hex digits after \\u',
      ],
      [
        '"a\u0001"',
        'control character U+0001 in a string in JSON at line 1, column 3 (position 2): expected a character or an escape',
      ],
      [
        '[tru]',
        "unexpected 't' in JSON at line 1, column 2 (position 1): expected a value (object, array, string, number, true, false or null)",
      ],
    ]
    for (const [text, message] of cases) expect(where(text), JSON.stringify(text)).toBe(message)
  })
})
