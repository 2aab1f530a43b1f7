/**
 * One running switch: the flow table, the datapath with its ports, the agent, the listeners and
 * the controller links, put together in the order the issue asks: ports first, then listeners
 * and controllers, so that when a listener accepts, the switch already forwards.
 *
 * Start-up failures a user can fix (a missing interface, a busy port) are StartErrors naming the
 * culprit; the command turns them into exit status 2.
 */
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Datapath } from '../datapath/datapath.js';
import { FlowTable } from '../flowtable/flow-table.js';
import { MATCH_ALL, OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPFC, OFPP, OFPPMFC, OFPT } from '../protocol/index.js';
import type { FlowMod, PhyPort } from '../protocol/index.js';
import { Agent, type AgentDatapath } from './agent.js';
import { Connection, type ConnectionHandler } from './connection.js';
import { ControllerLink } from './controller-link.js';
import { FailModeState } from './fail-mode.js';
import { ListenError, listen, type Listener } from './listener.js';
import type { Logger } from './log.js';
import type { SwitchOptions } from './options.js';

export class StartError extends Error {
  override readonly name = 'StartError';
}

/** The `priority=0 actions=NORMAL` entry a standalone switch without controllers shows. */
export const NORMAL_FLOW: FlowMod = {
  version: OFP_VERSION,
  type: OFPT.FLOW_MOD,
  xid: 0,
  match: MATCH_ALL,
  cookie: 0n,
  command: OFPFC.ADD,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 0,
  bufferId: OFP_NO_BUFFER,
  outPort: OFPP.NONE,
  flags: 0,
  actions: [{ type: OFPAT.OUTPUT, port: OFPP.NORMAL, maxLen: 0 }],
};

/** Datapath id from a MAC, as Open vSwitch derives it: the 48 bits in the low bits. */
export function dpidFromMac(mac: string): bigint {
  return BigInt('0x' + (mac.replaceAll(':', '') || '0'));
}

/** The datapath as the agent sees it. */
function agentView(dp: Datapath): AgentDatapath {
  return {
    portDescriptions: () => dp.ports(),
    portStats: (portNo) => dp.portStats(portNo),
    modifyPort: (mod) => {
      const r = dp.modifyPort(mod);
      if (r === 'ok') return { ok: true };
      return { ok: false, code: r === 'bad-port' ? OFPPMFC.BAD_PORT : OFPPMFC.BAD_HW_ADDR };
    },
    execute: (frame, inPort, actions) => dp.execute(frame, inPort, actions),
    setFragHandling: (mode) => dp.setFragMode(mode),
  };
}

export class Switch {
  readonly datapathId: bigint;
  readonly agent: Agent;
  readonly datapath: Datapath;
  readonly flowTable: FlowTable;
  readonly listeners: Listener[] = [];
  readonly controllers: ControllerLink[] = [];
  private readonly log: Logger;
  private readonly options: SwitchOptions;
  private readonly connections = new Set<Connection>();
  private expiryTimer: NodeJS.Timeout | null = null;
  private nextConnectionId = 1;
  private stopped = false;
  private started = false;

  private constructor(options: SwitchOptions, log: Logger) {
    this.options = options;
    this.log = log;
    for (const name of options.ports.map((p) => p.name)) {
      if (!existsSync(`/sys/class/net/${name}`)) throw new StartError(`interface ${name} does not exist`);
    }
    this.flowTable = new FlowTable({ now: () => performance.now() });
    const failMode = new FailModeState({
      mode: options.failMode,
      haveControllers: options.controllers.length > 0,
      probeIntervalMs: options.probeIntervalMs,
    });
    this.datapath = new Datapath({
      flowTable: this.flowTable,
      onMiss: (frame, inPort) => this.agent.onMiss(frame, inPort),
      onController: (frame, inPort, maxLen, reason) => this.agent.onController(frame, inPort, maxLen, reason),
    });
    const opened: PhyPort[] = [];
    try {
      for (const p of options.ports) {
        const vlan = { ...(p.tag !== undefined ? { tag: p.tag } : {}), ...(p.trunks ? { trunks: p.trunks } : {}) };
        opened.push(this.datapath.openPort(p.name, p.ofport, vlan));
      }
      if (options.local) opened.push(this.datapath.openLocalPort(options.local));
    } catch (err) {
      this.datapath.close();
      throw new StartError(`cannot open port: ${(err as Error).message}`);
    }
    const first = opened[0];
    this.datapathId = options.dpid ?? (first ? dpidFromMac(first.hwAddr) : 1n);
    this.agent = new Agent({
      datapathId: this.datapathId,
      flowTable: this.flowTable,
      datapath: agentView(this.datapath),
      failMode,
      log,
      onTableChange: () => this.scheduleExpiry(),
    });
    if (failMode.installsNormalFlow) this.flowTable.flowMod(NORMAL_FLOW);
    this.datapath.on('port-status', (reason, desc) => this.agent.portStatus(reason, desc));
  }

  /** Opens the ports, then the listeners, then starts the controller links. */
  static async start(options: SwitchOptions, log: Logger): Promise<Switch> {
    const sw = new Switch(options, log);
    try {
      for (const endpoint of options.listen) {
        const listener = await listen(endpoint, (socket) => sw.accept(socket, 'passive'));
        sw.listeners.push(listener);
        log.info('listening', { listen: listener.name });
      }
    } catch (err) {
      await sw.stop();
      throw err instanceof ListenError ? new StartError(err.message) : err;
    }
    for (const endpoint of options.controllers) {
      const link = new ControllerLink({
        endpoint,
        log,
        attach: (socket, events) => sw.accept(socket, 'controller', events),
      });
      sw.controllers.push(link);
      link.start();
    }
    log.info('switch started', {
      dpid: sw.datapathId.toString(16).padStart(16, '0'),
      ports: sw.datapath.ports().map((p) => `${p.portNo}(${p.name})`),
      failMode: options.failMode,
    });
    sw.scheduleExpiry();
    sw.started = true;
    return sw;
  }

  private accept(socket: Socket, kind: 'controller' | 'passive', events?: { established(): void; closed(): void }): void {
    if (this.stopped) return void socket.destroy();
    const agent = this.agent;
    const handler: ConnectionHandler = {
      onMessage: (conn, msg, bytes) => agent.onMessage(conn, msg, bytes),
      onActive: (conn) => {
        agent.onActive(conn);
        events?.established();
      },
      onClose: (conn) => {
        this.connections.delete(conn);
        agent.onClose(conn);
        events?.closed();
      },
    };
    const conn = new Connection(socket, {
      id: this.nextConnectionId++,
      kind,
      handler,
      log: this.log,
      probeIntervalMs: kind === 'controller' ? this.options.probeIntervalMs : null,
    });
    if (conn.state !== 'closed') this.connections.add(conn);
  }

  /** Runs expiry when the table says the next entry may be due (sub-second precision). */
  private scheduleExpiry(): void {
    if (this.stopped) return;
    const next = this.flowTable.nextExpiry();
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (next === null) return;
    const delay = Math.min(Math.max(0, next - performance.now()), 1000);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      this.agent.expireFlows();
      this.scheduleExpiry();
    }, delay);
  }

  /** Closes connections, listeners and ports. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    for (const link of this.controllers) link.stop();
    for (const conn of [...this.connections]) conn.close('switch stopping');
    await Promise.all(this.listeners.map((l) => l.close()));
    this.datapath.close();
    if (this.started) this.log.info('switch stopped');
  }
}
