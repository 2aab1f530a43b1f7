export { UdpSender, type CollectorTarget } from './udp-sender.js';
