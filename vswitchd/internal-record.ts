/**
 * The internal interfaces a daemon runs, recorded in `RUNDIR/ofswitch.internal` (one name a
 * line), so that the next daemon in the same run directory knows which leftovers of a killed one
 * are its own. ovs-vswitchd finds them in its kernel datapath at start and deletes the ports no
 * longer configured (an internal port deleted, or its bridge, while it was not running); ofswitch's
 * internal interfaces are veth pairs, which carry no owner, so the record names them.
 *
 * The record is rewritten (atomically: a new file renamed over the old one) whenever the set
 * changes, and left empty by a clean stop. A record that cannot be read is no leftovers; one that
 * cannot be written is logged once per failure and tried again at the next change.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RECORD_FILE = 'ofswitch.internal';

export class InternalRecord {
  readonly path: string;
  private written: string | null = null;

  /** `file`: another record of the same form (the QoS record names interfaces given a qdisc). */
  constructor(rundir: string, file = RECORD_FILE) {
    this.path = join(rundir, file);
  }

  /** The names recorded by the previous daemon (none when there is no record). */
  read(): string[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return []; // no record: no daemon ran here, or it stopped cleanly before records existed
    }
    this.written = text;
    return text.split('\n').filter((n) => n !== '');
  }

  /** Records `names` unless that is what the file holds; throws when the file cannot be written. */
  write(names: Iterable<string>): void {
    const text = [...names].sort().map((n) => `${n}\n`).join('');
    if (text === this.written) return;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.path);
    this.written = text;
  }
}
