/**
 * Colour taken out of terminal output, every other attribute kept: SGR sequences (`ESC [ ... m`)
 * lose their foreground and background parameters (30-39, 40-49, 90-97, 100-107 and the 38/48
 * extended forms), so bold, underline and the inverse selection bar still show under NO_COLOR.
 * One filter at the terminal's edge covers every widget: tags, styles and the charts' canvas.
 */
const SGR = /\x1b\[([0-9;]*)m/g

function isColour(code: number): boolean {
  return (code >= 30 && code <= 49) || (code >= 90 && code <= 97) || (code >= 100 && code <= 107)
}

function withoutColour(params: string): string | undefined {
  if (params === '') return params // ESC [ m: reset
  const codes = params.split(';').map(Number)
  const kept: number[] = []
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]
    if (c === 38 || c === 48) {
      // 38;5;N (256 colours) or 38;2;R;G;B (true colour): skip the whole group.
      i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0
      continue
    }
    if (!isColour(c)) kept.push(c)
  }
  return kept.length ? kept.join(';') : undefined
}

export function stripColour(text: string): string {
  return text.replace(SGR, (_all, params: string) => {
    const kept = withoutColour(params)
    return kept === undefined ? '' : `\x1b[${kept}m`
  })
}
