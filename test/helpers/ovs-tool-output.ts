/**
 * What an OVS program printed, less what it says about the machine rather than the command.
 *
 * Every OVS program (ovs-vsctl, ovs-ofctl, ovs-appctl) warns on stderr when its own process was
 * not scheduled for a second ("timeval|WARN|Unreasonably long 1064ms poll interval", then its page
 * faults and context switches): on a loaded test machine a command that succeeded silently prints
 * these, and a test asserting "exit 0 and nothing on stderr" would fail for the machine's load.
 */
const OWN_LOAD_WARNING = /^\S+\|\d+\|timeval\|WARN\|.*(?:\n|$)/gm;

export function withoutLoadWarnings(stderr: string): string {
  return stderr.replace(OWN_LOAD_WARNING, '');
}
