/**
 * Flavors rehearse the managed services on real servers: ACLs make the client's user refuse what
 * ElastiCache or MemoryDB refuse, while a private admin user keeps full rights for the sandbox's own
 * management (cluster assembly, replication, shutdown).
 */
export type Flavor = 'redis' | 'elasticache' | 'memorydb'
export const FLAVORS: Flavor[] = ['redis', 'elasticache', 'memorydb']

export const ADMIN_USER = 'kvtop-admin'

/** Commands ElastiCache refuses (README: Sandboxes); PSYNC is refused in practice too. */
const ELASTICACHE_REFUSED = [
  'bgrewriteaof',
  'bgsave',
  'config',
  'debug',
  'migrate',
  'replicaof',
  'save',
  'slaveof',
  'shutdown',
  'sync',
  'psync',
]

/** MemoryDB refuses ElastiCache's list and more. */
const MEMORYDB_REFUSED = [
  ...ELASTICACHE_REFUSED,
  'module',
  'acl|setuser',
  'acl|deluser',
  'acl|load',
  'acl|save',
  'cluster|addslots',
  'cluster|addslotsrange',
  'cluster|delslots',
  'cluster|delslotsrange',
  'cluster|setslot',
]

function refusedCommands(flavor: Flavor): string[] {
  if (flavor === 'elasticache') return ELASTICACHE_REFUSED
  if (flavor === 'memorydb') return MEMORYDB_REFUSED
  return []
}

interface AclInput {
  flavor: Flavor
  adminPassword: string
  /** The client's user: 'default' unless the flavor or the caller names another. */
  clientUser: string
  clientPassword?: string
}

function passwordRule(password: string | undefined): string {
  return password ? `>${password}` : 'nopass'
}

/** `user ...` lines for redis.conf. Passwords are written only to 0600 files. */
export function aclConfigLines(input: AclInput): string[] {
  const deny = refusedCommands(input.flavor)
    .map((c) => `-${c}`)
    .join(' ')
  const clientRules = `on ${passwordRule(input.clientPassword)} ~* &* +@all${deny ? ' ' + deny : ''}`
  const lines = [`user ${ADMIN_USER} on >${input.adminPassword} ~* &* +@all`]
  if (input.clientUser === 'default') {
    lines.push(`user default ${clientRules}`)
  } else {
    // MemoryDB-style: the default user is disabled, clients authenticate as a named ACL user.
    lines.push(`user default off`)
    lines.push(`user ${input.clientUser} ${clientRules}`)
  }
  return lines
}
