import { writeFileSync } from 'node:fs'

/**
 * Preloaded (`node --import`) into a process a benchmark times: at exit, its own user + sys CPU
 * seconds go to the file named by KVTOP_BENCH_CPU_OUT.
 */
const out = process.env.KVTOP_BENCH_CPU_OUT
if (out)
  process.on('exit', () => {
    const used = process.cpuUsage()
    writeFileSync(out, JSON.stringify({ cpuSeconds: (used.user + used.system) / 1e6 }))
  })
