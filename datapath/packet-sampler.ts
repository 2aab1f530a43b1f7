/**
 * What the packet path asks of a packet sampler (sFlow's, in sflow/): the datapath knows only this
 * interface and never imports the sampler itself.
 *
 * Each port counts down the frames it receives; when its count reaches zero the frame is sampled
 * and a new count is drawn (`nextSkip`, random with the sampling rate as its mean, as sFlow
 * requires). Frames not sampled cost one decrement and one comparison: no call, no allocation.
 *
 * A sampled frame is handed over twice: `sampleIn` before the flow table sees it (the frame as
 * received: the sampler copies what it keeps, since actions may rewrite the frame in place), and
 * `sampleOut` after its actions ran, with where it went: the number of ports it was sent out of,
 * the last of them, and the 802.1Q TCI it left with (0 untagged).
 */
export interface PacketSampler {
  /** Frames to let pass before the next sample on a port, >= 1 (the last one counted is sampled). */
  nextSkip(): number;
  /** A sampled frame received on `inPort`; `pool` frames went through that port's count since its last sample. */
  sampleIn(frame: Uint8Array, inPort: number, pool: number): void;
  /** Where the frame given to the last `sampleIn` went. */
  sampleOut(outputs: number, lastPort: number, outTci: number): void;
}
