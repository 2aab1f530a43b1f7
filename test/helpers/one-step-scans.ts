/**
 * For the fake flow tables of the agent tests: AgentFlowTable's statistics scans done in one step,
 * from the table's own flowStats() and aggregateStats().
 */
import type { AgentAggregateScan, AgentFlowStatsScan } from '../../lib/agent.js';
import type { AggregateStats, FlowStats } from '../../protocol/index.js';

export abstract class OneStepScans {
  abstract flowStats(): FlowStats[];
  abstract aggregateStats(): AggregateStats;
  flowStatsScan(): AgentFlowStatsScan {
    const flows = this.flowStats();
    const scan = { done: false, next: (): FlowStats[] => ((scan.done = true), flows) };
    return scan;
  }
  aggregateScan(): AgentAggregateScan {
    const stats = this.aggregateStats();
    return { done: true, next() {}, result: () => stats };
  }
}
