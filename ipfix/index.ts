/** IPFIX export (OVS's IPFIX table, bridge exporter): the exporter a bridge runs, its settings, and the RFC 7011 encoder. */
export { IpfixExporter, type IpfixExporterOptions, type IpfixLog, type IpfixPortInfo } from './exporter.js';
export { IpfixError, ipfixConfig, parseIpfixTarget, IPFIX_OTHER_CONFIG_KEYS, type IpfixConfig, type IpfixSettings } from './settings.js';
export { IpfixCache, IpfixCounters, IpfixEntry } from './flow-cache.js';
