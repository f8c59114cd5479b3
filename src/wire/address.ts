/**
 * Node addresses as Redis prints them (CLUSTER NODES, MOVED, INFO): the one parser and the one
 * formatter, IPv6 in brackets.
 */

/**
 * `host:port`, `[v6]:port` or `v6addr:port` (the last colon separates the port), as Redis prints
 * node addresses in CLUSTER NODES, MOVED and INFO.
 */
export function parseAddress(text: string): { host: string; port: number } | undefined {
  const colon = text.lastIndexOf(':')
  if (colon <= 0) return undefined
  const port = Number(text.slice(colon + 1))
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined
  const host = text.slice(0, colon).replace(/^\[|\]$/g, '')
  if (!host) return undefined
  return { host, port }
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
