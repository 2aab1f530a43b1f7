/** NetFlow v5 export (OVS's NetFlow table): the exporter a bridge runs, its settings and the datagram encoder. */
export { NetflowExporter, type NetflowExporterOptions, type NetflowLog } from './exporter.js';
export { NetflowCache, NetflowFlow } from './flow-cache.js';
export { NetflowError, netflowConfig, parseNetflowTarget, type NetflowConfig, type NetflowSettings, type NetflowTarget } from './settings.js';
export { decodeV5, encodeV5, type V5Header, type V5Record } from './v5.js';
