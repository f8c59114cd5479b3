import Capture from './capture.js'
import Check from './check.js'
import ConfigAdd from './config/add.js'
import ConfigList from './config/list.js'
import ConfigRemove from './config/remove.js'
import ConfigShow from './config/show.js'
import AuthToken from './auth/token.js'
import Discover from './discover.js'
import Export from './export.js'
import Replay from './replay.js'
import SnapshotAwsCreate from './snapshot/aws/create.js'
import SnapshotAwsExport from './snapshot/aws/export.js'
import SnapshotAwsList from './snapshot/aws/list.js'
import SnapshotCreate from './snapshot/create.js'
import SnapshotInspect from './snapshot/inspect.js'
import SnapshotRestore from './snapshot/restore.js'
import SandboxDown from './sandbox/down.js'
import SandboxLoad from './sandbox/load.js'
import SandboxStatus from './sandbox/status.js'
import SandboxUp from './sandbox/up.js'
import Scale from './scale.js'
import ScaleAws from './scale/aws.js'
import Replication from './replication.js'
import Slowlog from './slowlog.js'
import Status from './status.js'
import Top from './top.js'
import MigrateAws from './migrate/aws.js'
import MigratePlan from './migrate/plan.js'
import MigrateRun from './migrate/run.js'
import MigrateStatus from './migrate/status.js'
import Triage from './triage.js'
import Verify from './verify.js'

/** Explicit command discovery (package.json oclif.commands): ids with spaces as topic separators. */
export const COMMANDS = {
  capture: Capture,
  check: Check,
  'config:add': ConfigAdd,
  'config:list': ConfigList,
  'config:remove': ConfigRemove,
  'config:show': ConfigShow,
  'auth:token': AuthToken,
  discover: Discover,
  export: Export,
  replay: Replay,
  verify: Verify,
  'migrate:aws': MigrateAws,
  'migrate:plan': MigratePlan,
  'migrate:run': MigrateRun,
  'migrate:status': MigrateStatus,
  triage: Triage,
  'snapshot:aws:create': SnapshotAwsCreate,
  'snapshot:aws:export': SnapshotAwsExport,
  'snapshot:aws:list': SnapshotAwsList,
  'snapshot:create': SnapshotCreate,
  'snapshot:inspect': SnapshotInspect,
  'snapshot:restore': SnapshotRestore,
  'sandbox:up': SandboxUp,
  'sandbox:down': SandboxDown,
  'sandbox:status': SandboxStatus,
  'sandbox:load': SandboxLoad,
  scale: Scale,
  'scale:aws': ScaleAws,
  top: Top,
  status: Status,
  slowlog: Slowlog,
  replication: Replication,
}
