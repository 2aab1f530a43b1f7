/** The control socket (ovs-appctl's server side): see server.ts for the design. */
export { UnixctlError, UnixctlServer, type Reply, type UnixctlCommand, type UnixctlHandler, type UnixctlLog, type UnixctlRegistry } from './server.js';
export { formatMemoryReport, processMemoryReport, registerExitCommand, registerMemoryCommand, registerVlogCommands, vlogList, type LoggerLevel, type VlogHooks } from './commands.js';
export { controlSocketPath, OVS_DEFAULT_RUNDIR, ovsRundir, pidFilePath, serveInRundir, type RundirControl } from './daemon.js';
export { PidFile, PidFileError } from './pidfile.js';
export { listenUnix, UnixSocketError, UNIX_PATH_MAX, type UnixServer } from './unix-socket.js';
