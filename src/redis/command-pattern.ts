/**
 * What a logged command is about, for grouping slow and large commands: the command (and
 * subcommand) and the shape of its key, from the command's arguments alone.
 */

/** Commands whose first argument is a subcommand. */
const CONTAINERS = new Set([
  'acl',
  'client',
  'cluster',
  'command',
  'commandlog',
  'config',
  'debug',
  'function',
  'latency',
  'memory',
  'module',
  'object',
  'pubsub',
  'script',
  'slowlog',
  'xgroup',
  'xinfo',
])
/** Containers whose subcommand is followed by a key. */
const CONTAINER_WITH_KEY = new Set([
  'memory|usage',
  'object|encoding',
  'object|freq',
  'object|idletime',
  'object|refcount',
  'xinfo|stream',
  'xinfo|groups',
  'xinfo|consumers',
  'xgroup|create',
  'xgroup|destroy',
  'xgroup|setid',
  'xgroup|createconsumer',
  'xgroup|delconsumer',
])
/** Commands whose first argument is not a key. */
const NO_KEY = new Set([
  'auth',
  'bgrewriteaof',
  'bgsave',
  'dbsize',
  'discard',
  'echo',
  'exec',
  'failover',
  'flushall',
  'flushdb',
  'hello',
  'info',
  'lastsave',
  'lolwut',
  'migrate',
  'monitor',
  'multi',
  'ping',
  'psubscribe',
  'psync',
  'publish',
  'punsubscribe',
  'quit',
  'randomkey',
  'readonly',
  'readwrite',
  'replconf',
  'replicaof',
  'reset',
  'role',
  'save',
  'scan',
  'select',
  'shutdown',
  'slaveof',
  'spublish',
  'ssubscribe',
  'subscribe',
  'sunsubscribe',
  'swapdb',
  'sync',
  'time',
  'unsubscribe',
  'unwatch',
  'wait',
  'waitaof',
  'blmpop',
  'bzmpop',
  'lmpop',
  'zmpop',
  'zunion',
  'zinter',
  'zdiff',
  'zintercard',
  'sintercard',
])

/** `GET`, `CLUSTER NODES`: the command (and subcommand) in upper case. */
export function commandName(args: string[]): string {
  if (!args.length) return ''
  const name = args[0].toLowerCase()
  if (CONTAINERS.has(name) && args.length > 1) return `${name} ${args[1].toLowerCase()}`.toUpperCase()
  return name.toUpperCase()
}

/** A key with its variable parts (ids, numbers, hashes) replaced by `*`: `user:42:profile` -> `user:*:profile`. */
export function keyShape(key: string): string {
  return key
    .split(/([:./|#{}\-_]+)/)
    .map((part, i) =>
      i % 2 === 1 ? part : /\d|\\x[0-9a-f]{2}/i.test(part) || /^[0-9a-f]{16,}$/i.test(part) ? '*' : part,
    )
    .join('')
    .replace(/\*(?:[:./|#\-_]*\*)+/g, '*')
}

/**
 * The group a slow command belongs to: command (and subcommand), then the shape of its key, or for
 * KEYS its pattern, for EVAL the start of its script, for EVALSHA and FCALL the script or function.
 */
export function commandPattern(args: string[]): string {
  if (!args.length) return '(empty)'
  const name = args[0].toLowerCase()
  const command = commandName(args)
  if (CONTAINERS.has(name)) {
    const sub = (args[1] ?? '').toLowerCase()
    return CONTAINER_WITH_KEY.has(`${name}|${sub}`) && args[2] !== undefined
      ? `${command} ${keyShape(args[2])}`
      : command
  }
  if (name === 'keys') return args[1] !== undefined ? `KEYS ${args[1]}` : 'KEYS'
  if (name === 'eval' || name === 'eval_ro')
    return `${command} ${JSON.stringify((args[1] ?? '').slice(0, 24))}`
  if (name === 'evalsha' || name === 'evalsha_ro') return `${command} ${(args[1] ?? '').slice(0, 8)}`
  if (name === 'fcall' || name === 'fcall_ro') return `${command} ${args[1] ?? ''}`
  if (NO_KEY.has(name) || args.length < 2) return command
  return `${command} ${keyShape(args[1])}`
}
