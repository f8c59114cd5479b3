import { truncate } from '../metrics/format.js'

/**
 * Text for blessed boxes with tags ({red-fg}...{/red-fg}): server text escaped so it cannot inject
 * tags, the length of a tagged line as the screen shows it, word wrapping.
 */

/** Escape blessed tag braces in server-provided text (hash-tagged keys like `{user1}:cart`). */
export function esc(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'))
}

/** A tagged line as it reads on the screen: the tags taken out. */
export function untagged(text: string): string {
  return text.replace(/\{[^{}]*\}/g, '')
}

export const plainLength = (t: string) => untagged(t).length

/** Word-wrap to `width`, continuation lines indented; words longer than a line are cut. */
export function wrapText(text: string, width: number, indent = ''): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : lines.length ? `${indent}${word}` : word
    if (candidate.length <= width || !line)
      line = candidate.length > width ? truncate(candidate, width) : candidate
    else {
      lines.push(line)
      const next = `${indent}${word}`
      line = next.length > width ? truncate(next, width) : next
    }
  }
  if (line) lines.push(line)
  return lines
}
