/** Cluster node ids (40 characters, as CLUSTER NODES prints them) the triage tests share. */

export const A = 'aaaa'.padEnd(40, '0')
export const B = 'bbbb'.padEnd(40, '0')
export const C = 'cccc'.padEnd(40, '0')
