/** A small XML writer for the fake's query (ElastiCache) and REST-XML (S3) responses. */

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  )
}

export type XmlValue =
  string | number | boolean | Date | undefined | null | XmlValue[] | { [key: string]: XmlValue }

/**
 * Serialise `value` as the children of an element. Arrays become a wrapper element holding one
 * element per item, named by `members[key]` (AWS query lists use e.g. <NodeGroups><NodeGroup>).
 */
export function toXml(value: Record<string, XmlValue>, members: Record<string, string> = {}): string {
  let out = ''
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue
    out += element(key, v, members)
  }
  return out
}

function scalar(v: string | number | boolean | Date): string {
  if (v instanceof Date) return v.toISOString()
  return escapeXml(String(v))
}

function element(key: string, v: XmlValue, members: Record<string, string>): string {
  if (v === undefined || v === null) return ''
  if (Array.isArray(v)) {
    const member = members[key] ?? 'member'
    return `<${key}>${v.map((item) => element(member, item, members)).join('')}</${key}>`
  }
  if (typeof v === 'object' && !(v instanceof Date)) return `<${key}>${toXml(v, members)}</${key}>`
  return `<${key}>${scalar(v)}</${key}>`
}
