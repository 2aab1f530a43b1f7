/**
 * The `--config` file's "qos" object (flag mode): per port, the QoS a database gives it through a
 * QoS row and its Queue rows, with the same column names:
 *
 *   "qos": {"veth2": {"type": "linux-htb", "other_config": {"max-rate": 60000000},
 *                     "queues": {"1": {"other_config": {"min-rate": 20000000, "max-rate": 30000000}}}}}
 *
 * Values are numbers or decimal strings (as other_config holds them); anything else, an unknown
 * key, a type other than linux-htb or a queue id HTB cannot number is a UsageError (exit 2); type
 * egress-policer is refused with a message naming the port keys flag mode polices with instead.
 */
import { HTB } from '../protocol/constants.js';
import { queueSettings, type HtbQueueSettings, type HtbSettings } from '../qos/htb.js';
import { UsageError } from './options.js';

const QOS_KEYS = ['type', 'other_config', 'queues'];
const QOS_OTHER = ['max-rate'];
const QUEUE_OTHER = ['min-rate', 'max-rate', 'burst', 'priority'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** other_config as strings, each a non-negative integer, keys among `known`. */
function otherConfig(where: string, value: unknown, known: readonly string[]): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new UsageError(`${where}: "other_config" must be an object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!known.includes(k)) throw new UsageError(`${where}: unknown other_config key "${k}" (${known.join(', ')})`);
    const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : '';
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`${where}: other_config:${k} must be a non-negative integer`);
    out[k] = text;
  }
  return out;
}

/** The "qos" object: port name to linux-htb settings. */
export function parseQosObject(path: string, value: unknown): Record<string, HtbSettings> {
  const where = `--config ${path}: qos`;
  if (!isObject(value)) throw new UsageError(`${where} must be an object of port names`);
  const out: Record<string, HtbSettings> = {};
  for (const [port, q] of Object.entries(value)) {
    const here = `${where}: ${port}`;
    if (!isObject(q)) throw new UsageError(`${here} must be an object`);
    const unknown = Object.keys(q).find((k) => !QOS_KEYS.includes(k));
    if (unknown !== undefined) throw new UsageError(`${here}: unknown key "${unknown}" (${QOS_KEYS.join(', ')})`);
    if (q['type'] === 'egress-policer')
      throw new UsageError(`${here}: type "egress-policer" is not a "qos" object in flag mode: give the port's keys egress_policer_cir and egress_policer_cbs instead (--port ${port},egress_policer_cir=BYTES_PER_S,egress_policer_cbs=BYTES)`);
    if (q['type'] !== 'linux-htb') throw new UsageError(`${here}: "type" must be "linux-htb"`);
    const other = otherConfig(here, q['other_config'], QOS_OTHER);
    const queues = new Map<number, HtbQueueSettings>();
    if (q['queues'] !== undefined) {
      if (!isObject(q['queues'])) throw new UsageError(`${here}: "queues" must be an object of queue ids`);
      for (const [id, row] of Object.entries(q['queues'])) {
        const n = /^\d+$/.test(id) ? Number(id) : NaN;
        if (!(n < HTB.N_QUEUES)) throw new UsageError(`${here}: queue "${id}" is not a queue id (0..${HTB.N_QUEUES - 1})`);
        if (!isObject(row) || Object.keys(row).some((k) => k !== 'other_config'))
          throw new UsageError(`${here}: queue ${id} must be {"other_config": {...}}`);
        queues.set(n, queueSettings(otherConfig(`${here}: queue ${id}`, row['other_config'], QUEUE_OTHER)));
      }
    }
    out[port] = { maxRate: Number(other['max-rate'] ?? 0), queues };
  }
  return out;
}
