import Capture from './capture.js'
import Discover from './discover.js'
import SandboxDown from './sandbox/down.js'
import SandboxLoad from './sandbox/load.js'
import SandboxStatus from './sandbox/status.js'
import SandboxUp from './sandbox/up.js'

/** Explicit command discovery (package.json oclif.commands): ids with spaces as topic separators. */
export const COMMANDS = {
  capture: Capture,
  discover: Discover,
  'sandbox:up': SandboxUp,
  'sandbox:down': SandboxDown,
  'sandbox:status': SandboxStatus,
  'sandbox:load': SandboxLoad,
}
