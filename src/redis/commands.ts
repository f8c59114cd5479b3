/** What kvtop knows about commands by name: which are about the server, which count a value. */

/** Commands about the server rather than the data: left out of a replayable log. */
const ADMIN_COMMANDS = new Set([
  'auth',
  'hello',
  'client',
  'info',
  'ping',
  'echo',
  'config',
  'slowlog',
  'latency',
  'cluster',
  'command',
  'monitor',
  'memory',
  'debug',
  'acl',
  'readonly',
  'readwrite',
  'role',
  'time',
  'quit',
  'reset',
  'commandlog',
  'lastsave',
  'dbsize',
  'module',
  'replconf',
  'psync',
  'sync',
  'wait',
  'waitaof',
  'failover',
])

/** `name`: the command's name as bytes, or already in lower case. */
export function isAdminCommand(name: Buffer | string): boolean {
  return ADMIN_COMMANDS.has(typeof name === 'string' ? name : name.toString('latin1').toLowerCase())
}

/** The command that counts a value's elements (bytes for strings), by TYPE. */
export function lengthCommand(type: string): string | undefined {
  return { string: 'STRLEN', list: 'LLEN', hash: 'HLEN', set: 'SCARD', zset: 'ZCARD', stream: 'XLEN' }[type]
}
