/**
 * Prometheus metrics of the switch's bridges (`--metrics ptcp:PORT[:IP]`): registry.ts builds them
 * from lib/switch.ts's read-only counters at scrape time, server.ts serves them on GET /metrics.
 * Above lib/ (it reads bridges through their public interface); cli/ and vswitchd/ start it.
 */
export { SwitchMetrics, errorTypeLabel, type BridgeSource } from './registry.js';
export { MetricsError, startMetricsServer, type MetricsServer } from './server.js';
