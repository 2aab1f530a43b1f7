/**
 * A Port row's QoS of type linux-htb, read as vswitch.xml defines it: Port `qos` (a QoS row),
 * QoS `type`, `other_config:max-rate`, `queues` (queue id to Queue row), Queue `other_config`
 * (`min-rate`, `max-rate`, `burst`, `priority`). Pure, like config.ts, which calls it per port.
 *
 * Other QoS types are not this module's: `egress-policer` is read elsewhere (no problem reported
 * here); an empty type is no QoS (as in OVS); any other type (linux-hfsc, linux-sfq, ...) is a
 * problem logged, and the port gets no queues. Queue ids HTB cannot number (0xf000 and up) are a
 * problem too and left out.
 */
import { HTB } from '../protocol/constants.js';
import type { Row } from '../ovsdb/index.js';
import { configNumber, queueSettings, type HtbQueueSettings, type HtbSettings } from '../qos/htb.js';
import type { ConfigProblem, ConfigSource } from './config.js';

export const HTB_QOS_TYPE = 'linux-htb';
/** QoS types another module reads (the datapath's policer): neither applied nor refused here. */
const OTHER_MODULE_TYPES: readonly string[] = ['egress-policer'];

/** Monitored columns of the QoS and Queue tables (what this module reads). */
export const QOS_COLUMNS = {
  QoS: ['type', 'other_config', 'queues'],
  Queue: ['other_config'],
} as const;

function stringMap(d: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (d instanceof Map) for (const [k, v] of d) out[String(k)] = String(v);
  return out;
}

/** The linux-htb settings of a Port row, or null when it has no QoS of that type. */
export function readHtbQos(db: ConfigSource, port: Row, problems: ConfigProblem[], bridge: string): HtbSettings | null {
  const ref = port['qos'];
  const qos = typeof ref === 'string' ? db.table('QoS').get(ref) : undefined;
  if (!qos) return null;
  const type = typeof qos['type'] === 'string' ? qos['type'] : '';
  if (type !== HTB_QOS_TYPE) {
    if (type !== '' && !OTHER_MODULE_TYPES.includes(type))
      problems.push({ bridge, message: `port ${String(port['name'])}: QoS type "${type}" is not supported (ofswitch has ${HTB_QOS_TYPE} and egress-policer)` });
    return null;
  }
  const other = stringMap(qos['other_config']);
  const queues = new Map<number, HtbQueueSettings>();
  const map = qos['queues'];
  if (map instanceof Map) {
    for (const [id, uuid] of map) {
      const queue = typeof uuid === 'string' ? db.table('Queue').get(uuid) : undefined;
      if (typeof id !== 'number' || !queue) continue;
      if (id >= HTB.N_QUEUES) {
        problems.push({ bridge, message: `port ${String(port['name'])}: queue ${id} is beyond what ${HTB_QOS_TYPE} numbers (0..${HTB.N_QUEUES - 1}): ignored` });
        continue;
      }
      queues.set(id, queueSettings(stringMap(queue['other_config'])));
    }
  }
  return { maxRate: configNumber(other['max-rate']), queues };
}
