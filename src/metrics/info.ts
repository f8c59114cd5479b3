// INFO parsing lives in src/redis/info.ts; this name stays for the modules that still import it.
export * from '../redis/info.js'
