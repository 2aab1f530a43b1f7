/*
 * af_packet: one Linux interface as a raw AF_PACKET socket, for ofswitch's datapath ports.
 *
 * Receive: a TPACKET_V3 memory-mapped ring (PACKET_RX_RING) with a 1 ms block timeout, so a lone
 * frame waits at most that long. The fd is watched with libuv (uv_poll_t on Node's loop); on each
 * wake-up the blocks the kernel has handed over are walked from where the last wake-up stopped
 * (a cursor: block and frame), at most `rxBudget` frames (a bounded batch), which are described
 * in a shared Uint32Array (offset in the ring, length, flags, GSO segment size); JS is called
 * ONCE for the batch and returns how many of them it took: all, or fewer when its own time budget
 * ran out (the rest stay described, first in the next batch). The frames are views of the ring
 * itself (an external ArrayBuffer, no copy), valid until JS takes them: a block goes back to the
 * kernel once every frame in it was taken.
 *   - The batch bounds are what keep one flooded port from starving the switch: each callback
 *     returns to the event loop after its budget, so timers, OpenFlow connections and the other
 *     ports run between batches (libuv serves every ready fd once per loop iteration: round
 *     robin). The rest is picked up on the next iteration: libuv's epoll is level-triggered, and
 *     a packet socket polls readable while the block before the kernel's current one is still
 *     the user's, which holds as long as any block is unreturned (blocks are returned in order).
 *   - Frames the kernel could not put in a full ring are counted by the kernel
 *     (PACKET_STATISTICS, read and cleared by stats(); summed here), and so are frames the kernel
 *     refused on send: for want of room (ENOBUFS, EAGAIN: "dropped") or otherwise ("errors").
 *   - Own transmissions never come back (PACKET_IGNORE_OUTGOING, and PACKET_OUTGOING is skipped).
 *   - An 802.1Q tag the kernel stripped into metadata (TP_STATUS_VLAN_VALID) is put back into the
 *     frame in place: the MAC addresses move 4 bytes into the headroom before the frame.
 *   - A frame with a partial checksum (veth/tap tx offload, TP_STATUS_CSUMNOTREADY) is flagged;
 *     a GSO super-frame (PACKET_VNET_HDR tells its type and segment size) is flagged with its
 *     segment size. Completing checksums and segmenting are the datapath's (TypeScript) job.
 * Transmit: JS copies frames into a shared staging area (fixed-size slots) and calls flush(),
 * which sends them all with one sendmmsg (MSG_DONTWAIT: the event loop never blocks). Each slot
 * has a priority (a shared Uint32Array, written by JS beside the frame's length): a slot whose
 * priority is not 0 carries an SO_PRIORITY control message, which the kernel (since 6.14) makes
 * the frame's skb->priority, so an HTB qdisc on the interface puts it in the class of that number
 * (ENQUEUE, qos/); one sendmmsg still sends the whole batch, whatever the priorities.
 * Errors: a socket error (ENETDOWN when the interface goes down, ENODEV/ENXIO when it is deleted)
 * is read with SO_ERROR and reported to JS as an error callback; the socket stays open (the kernel
 * resumes delivery when the interface comes back up). Nothing here ever aborts the process.
 * close() stops the poll, closes the socket, detaches the shared buffers and frees the memory.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <arpa/inet.h>

#include "napi_util.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* Per-frame flags reported to JS (meta[i*4 + 2]); mirrored in af-packet-port.ts. */
#define FRAME_CSUM_NOT_READY 0x1u
#define FRAME_TRUNCATED 0x2u
#define FRAME_GSO_TCPV4 0x4u
#define FRAME_GSO_TCPV6 0x8u
#define FRAME_GSO_OTHER 0x10u

#define META_WORDS 4
/* The largest batch open() accepts (its meta array is allocated at that size). */
#define MAX_RX_BUDGET 65536u
#define VLAN_TAG_LEN 4
#define MAC_ADDRS_LEN 12

typedef struct port {
  napi_env env;
  int fd;
  int closed;
  int in_callback;
  uv_poll_t poll;
  /* receive ring */
  uint8_t *ring;
  size_t ring_bytes;
  uint32_t block_size;
  uint32_t block_count;
  uint32_t next_block; /* the block being described (the description cursor) */
  uint32_t next_pkt; /* frames of block next_block already described */
  struct tpacket3_hdr *next_hdr; /* the first frame not yet described (when next_pkt > 0) */
  uint32_t release_from; /* the first block not yet returned to the kernel */
  uint32_t held_blocks; /* blocks wholly described, not yet returned (release_from onwards) */
  uint32_t *meta; /* META_WORDS per frame */
  uint32_t *meta_block; /* the block of each frame in meta */
  uint32_t meta_frames; /* the batch budget: at most this many frames a wake-up */
  uint32_t pending; /* frames described in meta[0, pending) that JS has not taken yet */
  /* counters (PACKET_STATISTICS is cleared by each read: summed here) */
  uint64_t ring_packets;
  uint64_t ring_drops;
  uint64_t ring_freezes;
  uint64_t tx_dropped;
  uint64_t tx_errors;
  /* transmit staging */
  uint8_t *tx;
  uint32_t tx_slot_size;
  uint32_t tx_slots;
  uint32_t *tx_lengths;
  uint32_t *tx_priorities; /* skb priority per slot; 0: none (no control message) */
  uint8_t *cmsgs; /* one SO_PRIORITY control message per slot */
  struct mmsghdr *msgs;
  struct iovec *iovs;
  /* JS side */
  napi_ref on_batch;
  napi_ref on_error;
  napi_ref self;
  napi_ref ring_ab;
  napi_ref meta_ab;
  napi_ref tx_ab;
  napi_ref tx_lengths_ab;
  napi_ref tx_priorities_ab;
  napi_async_context async;
} port_t;

/* virtio_net_hdr is prepended to every frame sent (PACKET_VNET_HDR): all zeros, no offload. */
static struct virtio_net_hdr zero_vnet_hdr;

/* ---- close and free ------------------------------------------------------------------------- */

static void free_port(port_t *p) {
  if (p->ring) munmap(p->ring, p->ring_bytes);
  free(p->meta);
  free(p->meta_block);
  free(p->tx);
  free(p->tx_lengths);
  free(p->tx_priorities);
  free(p->cmsgs);
  free(p->msgs);
  free(p->iovs);
  free(p);
}

static void on_poll_closed(uv_handle_t *handle) { free_port((port_t *)handle->data); }

/* Releases everything; the struct itself goes once libuv has let go of the poll handle. */
static void close_port(port_t *p, int from_finalizer) {
  if (p->closed) return;
  p->closed = 1;
  napi_env env = p->env;
  if (!from_finalizer) {
    detach(env, &p->ring_ab);
    detach(env, &p->meta_ab);
    detach(env, &p->tx_ab);
    detach(env, &p->tx_lengths_ab);
    detach(env, &p->tx_priorities_ab);
    if (p->on_batch) napi_delete_reference(env, p->on_batch);
    if (p->on_error) napi_delete_reference(env, p->on_error);
    if (p->async) napi_async_destroy(env, p->async);
    p->on_batch = p->on_error = NULL;
    p->async = NULL;
  }
  uv_poll_stop(&p->poll);
  close(p->fd);
  p->fd = -1;
  uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}

static void finalize_port(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  port_t *p = data;
  if (!p->closed) close_port(p, 1);
}

/* ---- calls into JS -------------------------------------------------------------------------- */

/* Calls fn_ref(argv); its result as a uint32, or `dflt` when it returned none (or threw). */
static uint32_t call_js(port_t *p, napi_ref fn_ref, size_t argc, napi_value *argv, uint32_t dflt) {
  napi_env env = p->env;
  napi_value fn, recv, result;
  if (fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok) return dflt;
  napi_get_global(env, &recv); /* napi_make_callback needs an object as `this` */
  p->in_callback = 1;
  napi_status st = napi_make_callback(env, p->async, recv, fn, argc, argv, &result);
  p->in_callback = 0;
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err); /* 'uncaughtException', as for any async callback */
    return dflt;
  }
  uint32_t out = dflt;
  if (st != napi_ok || napi_get_value_uint32(env, result, &out) != napi_ok) return dflt;
  return out;
}

static void report_error(port_t *p, int err) {
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[2];
  napi_create_int32(env, err, &argv[0]);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &argv[1]);
  call_js(p, p->on_error, 2, argv, 0);
  napi_close_handle_scope(env, scope);
}

/* ---- receive -------------------------------------------------------------------------------- */

static struct tpacket_block_desc *block_at(port_t *p, uint32_t i) {
  return (struct tpacket_block_desc *)(p->ring + (size_t)i * p->block_size);
}

static int block_ready(struct tpacket_block_desc *b) {
  return (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

/* Describes one frame into meta at index n; returns the new count (unchanged for a skipped frame). */
static uint32_t describe_frame(port_t *p, struct tpacket3_hdr *h, uint32_t n) {
  const struct sockaddr_ll *sll = (const struct sockaddr_ll *)((uint8_t *)h + TPACKET_ALIGN(sizeof *h));
  if (sll->sll_pkttype == PACKET_OUTGOING) return n;
  uint8_t *frame = (uint8_t *)h + h->tp_mac;
  uint32_t len = h->tp_snaplen;
  uint32_t flags = 0, gso_size = 0;
  const struct virtio_net_hdr *vh = (const struct virtio_net_hdr *)(frame - sizeof(struct virtio_net_hdr));
  uint8_t gso_type = vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gso_type != VIRTIO_NET_HDR_GSO_NONE) {
    gso_size = vh->gso_size;
    flags |= gso_type == VIRTIO_NET_HDR_GSO_TCPV4   ? FRAME_GSO_TCPV4
             : gso_type == VIRTIO_NET_HDR_GSO_TCPV6 ? FRAME_GSO_TCPV6
                                                    : FRAME_GSO_OTHER;
  }
  if (h->tp_status & TP_STATUS_CSUMNOTREADY) flags |= FRAME_CSUM_NOT_READY;
  if (h->tp_snaplen < h->tp_len) flags |= FRAME_TRUNCATED;
  if ((h->tp_status & TP_STATUS_VLAN_VALID) && len >= MAC_ADDRS_LEN) {
    /* Put the tag back: the headroom before the frame (at least the vnet header) takes it. */
    uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
    uint16_t tci = h->hv1.tp_vlan_tci;
    memmove(frame - VLAN_TAG_LEN, frame, MAC_ADDRS_LEN);
    frame -= VLAN_TAG_LEN;
    frame[12] = tpid >> 8;
    frame[13] = tpid & 0xff;
    frame[14] = tci >> 8;
    frame[15] = tci & 0xff;
    len += VLAN_TAG_LEN;
  }
  uint32_t *m = p->meta + (size_t)n * META_WORDS;
  m[0] = (uint32_t)(frame - p->ring);
  m[1] = len;
  m[2] = flags;
  m[3] = gso_size;
  return n + 1;
}

static void release_block(struct tpacket_block_desc *b) {
  __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/*
 * Hands JS one bounded batch: the frames described earlier that JS left (a batch it cut short),
 * then ready frames from the description cursor on, up to meta_frames in all (frames the socket
 * sent itself are skipped but count), in ONE call. JS returns how many it took (all, or fewer
 * when its time budget ran out); the rest stay described in meta for the next wake-up. Then the
 * blocks all of whose frames were taken go back to the kernel, in order. Whatever is left makes
 * the socket poll readable again on the next loop iteration (see the top of this file).
 */
static void drain(port_t *p) {
  uint32_t n = p->pending, seen = p->pending, budget = p->meta_frames;
  uint32_t blk = p->next_block, pkt = p->next_pkt;
  struct tpacket3_hdr *h = p->next_hdr;
  while (seen < budget && p->held_blocks < p->block_count) {
    struct tpacket_block_desc *b = block_at(p, blk);
    if (!block_ready(b)) break;
    uint32_t count = b->hdr.bh1.num_pkts;
    if (pkt == 0) h = (struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
    for (; pkt < count && seen < budget; pkt++, seen++) {
      uint32_t before = n;
      n = describe_frame(p, h, n);
      if (n > before) p->meta_block[before] = blk;
      h = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset);
    }
    if (pkt < count) break; /* budget spent inside this block */
    p->held_blocks++;
    blk = (blk + 1) % p->block_count;
    pkt = 0;
  }
  p->next_block = blk;
  p->next_pkt = pkt;
  p->next_hdr = pkt > 0 ? h : NULL;
  uint32_t taken = 0;
  if (n > 0) {
    napi_handle_scope scope;
    napi_open_handle_scope(p->env, &scope);
    napi_value argv[1];
    napi_create_uint32(p->env, n, &argv[0]);
    taken = call_js(p, p->on_batch, 1, argv, n);
    napi_close_handle_scope(p->env, scope);
    if (p->closed) return; /* closed from the callback: the ring is gone */
    if (taken == 0 || taken > n) taken = n; /* at least one: a batch never stalls */
  }
  p->pending = n - taken;
  if (p->pending > 0) {
    memmove(p->meta, p->meta + (size_t)taken * META_WORDS, (size_t)p->pending * META_WORDS * sizeof(uint32_t));
    memmove(p->meta_block, p->meta_block + taken, (size_t)p->pending * sizeof(uint32_t));
  }
  /* Every wholly described block goes back once taken: all of them when JS took everything, else
   * those before the block of the first frame left. */
  while (p->held_blocks > 0 && (p->pending == 0 || p->release_from != p->meta_block[0])) {
    release_block(block_at(p, p->release_from));
    p->release_from = (p->release_from + 1) % p->block_count;
    p->held_blocks--;
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  port_t *p = handle->data;
  if (p->closed) return;
  if (status < 0) {
    /* libuv stops the watcher on POLLERR: read (and clear) the socket error, report, resume. */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) err = EIO;
    report_error(p, err);
    if (!p->closed) uv_poll_start(&p->poll, UV_READABLE, on_poll);
    return;
  }
  if (events & UV_READABLE) drain(p);
}

/* ---- transmit ------------------------------------------------------------------------------- */

/* A send error that means "no room now" (the frame is dropped: tx_dropped), not a failure (tx_errors). */
static int no_room(int err) { return err == ENOBUFS || err == EAGAIN || err == EWOULDBLOCK; }

static void count_refused(port_t *p, int err, uint32_t frames) {
  if (no_room(err)) p->tx_dropped += frames;
  else p->tx_errors += frames;
}

#define PRIORITY_CMSG_SPACE CMSG_SPACE(sizeof(int))

/* Gives `msg` an SO_PRIORITY control message (in `buf`, PRIORITY_CMSG_SPACE bytes) of `priority`. */
static void set_priority_cmsg(struct msghdr *msg, uint8_t *buf, uint32_t priority) {
  memset(buf, 0, PRIORITY_CMSG_SPACE);
  msg->msg_control = buf;
  msg->msg_controllen = PRIORITY_CMSG_SPACE;
  struct cmsghdr *c = CMSG_FIRSTHDR(msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SO_PRIORITY;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int value = (int)priority;
  memcpy(CMSG_DATA(c), &value, sizeof value);
}

/* Sends staged frames [0, count); returns how many the kernel took (the rest are counted refused). */
static int send_staged(port_t *p, uint32_t count, int *last_err) {
  uint32_t sent = 0, done = 0;
  for (uint32_t i = 0; i < count; i++) {
    struct iovec *iov = p->iovs + 2 * i;
    iov[0].iov_base = &zero_vnet_hdr;
    iov[0].iov_len = sizeof zero_vnet_hdr;
    iov[1].iov_base = p->tx + (size_t)i * p->tx_slot_size;
    iov[1].iov_len = p->tx_lengths[i] <= p->tx_slot_size ? p->tx_lengths[i] : p->tx_slot_size;
    memset(&p->msgs[i], 0, sizeof p->msgs[i]);
    p->msgs[i].msg_hdr.msg_iov = iov;
    p->msgs[i].msg_hdr.msg_iovlen = 2;
    if (p->tx_priorities[i] != 0)
      set_priority_cmsg(&p->msgs[i].msg_hdr, p->cmsgs + (size_t)i * PRIORITY_CMSG_SPACE, p->tx_priorities[i]);
  }
  while (done < count) {
    int r = sendmmsg(p->fd, p->msgs + done, count - done, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      *last_err = err;
      if (err == ENETDOWN || err == ENXIO || err == ENODEV || err == EBADF) { /* all would fail */
        count_refused(p, err, count - done);
        break;
      }
      count_refused(p, err, 1);
      done++; /* this frame is refused: skip it and try the rest */
      continue;
    }
    sent += (uint32_t)r;
    done += (uint32_t)r;
  }
  return (int)sent;
}

/* ---- JS API --------------------------------------------------------------------------------- */

static port_t *unwrap(napi_env env, napi_value obj) {
  port_t *p = NULL;
  if (napi_unwrap(env, obj, (void **)&p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "not an af_packet socket");
    return NULL;
  }
  return p;
}

static int set_int_opt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value);
}

static uint32_t get_u32(napi_env env, napi_value obj, const char *name, uint32_t dflt) {
  napi_value v;
  uint32_t out = dflt;
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return dflt;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return dflt;
  if (napi_get_value_uint32(env, v, &out) != napi_ok) return dflt;
  return out;
}

/*
 * open(ifname, { blockSize, blockCount, blockTimeoutMs, rxBudget, txSlotSize, txSlots },
 *      onBatch(count) -> frames taken (undefined: all), onError(errno, text))
 *   -> { ring: ArrayBuffer, meta: ArrayBuffer, tx: ArrayBuffer, txLengths: ArrayBuffer,
 *        txPriorities: ArrayBuffer, ifindex }
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "open(ifname, options, onBatch, onError)");
    return NULL;
  }
  char ifname[IF_NAMESIZE + 1];
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len));
  uint32_t block_size = get_u32(env, argv[1], "blockSize", 1u << 17);
  uint32_t block_count = get_u32(env, argv[1], "blockCount", 32);
  uint32_t tx_slot_size = get_u32(env, argv[1], "txSlotSize", 2048);
  uint32_t tx_slots = get_u32(env, argv[1], "txSlots", 256);
  uint32_t block_tov_ms = get_u32(env, argv[1], "blockTimeoutMs", 1);
  uint32_t rx_budget = get_u32(env, argv[1], "rxBudget", 256);
  if (block_size < 4096 || (block_size & 4095) || block_count == 0 || tx_slots == 0 || tx_slot_size == 0 ||
      rx_budget == 0 || rx_budget > MAX_RX_BUDGET) {
    napi_throw_range_error(env, NULL, "bad ring or staging sizes");
    return NULL;
  }

  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, ifname, errno);

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); /* protocol 0: no frames until bind */
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);
  const char *step = NULL;
  struct tpacket_req3 req;
  memset(&req, 0, sizeof req);
  req.tp_block_size = block_size;
  req.tp_block_nr = block_count;
  req.tp_frame_size = 2048; /* V3 frames are variable: only a sanity value */
  req.tp_frame_nr = (uint32_t)(((uint64_t)block_size * block_count) / req.tp_frame_size);
  req.tp_retire_blk_tov = block_tov_ms;
  uint8_t *ring = MAP_FAILED;
  size_t ring_bytes = (size_t)block_size * block_count;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)ifindex;
  struct packet_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  mreq.mr_ifindex = (int)ifindex;
  mreq.mr_type = PACKET_MR_PROMISC;

  if (set_int_opt(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3)) step = "PACKET_VERSION";
  else if (set_int_opt(fd, SOL_PACKET, PACKET_VNET_HDR, 1)) step = "PACKET_VNET_HDR";
  else if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req)) step = "PACKET_RX_RING";
  else if ((ring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0)) == MAP_FAILED &&
           (ring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
    step = "mmap";
  else if (set_int_opt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)) step = "PACKET_IGNORE_OUTGOING";
  else if (bind(fd, (struct sockaddr *)&sll, sizeof sll)) step = "bind";
  else if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq)) step = "PACKET_MR_PROMISC";
  if (step) {
    int err = errno;
    if (ring != MAP_FAILED) munmap(ring, ring_bytes);
    close(fd);
    char what[64];
    snprintf(what, sizeof what, "%s: %s", ifname, step);
    return throw_errno(env, what, err);
  }
  /* A socket error from bind on a down interface (ENETDOWN) is not a failure: read and drop it. */
  int soerr = 0;
  socklen_t soerr_len = sizeof soerr;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len);

  port_t *p = calloc(1, sizeof *p);
  if (!p) {
    munmap(ring, ring_bytes);
    close(fd);
    return throw_errno(env, "open", ENOMEM);
  }
  p->env = env;
  p->fd = fd;
  p->ring = ring;
  p->ring_bytes = ring_bytes;
  p->block_size = block_size;
  p->block_count = block_count;
  p->meta_frames = rx_budget;
  p->meta = calloc((size_t)p->meta_frames * META_WORDS, sizeof(uint32_t));
  p->meta_block = calloc(p->meta_frames, sizeof(uint32_t));
  p->tx_slot_size = tx_slot_size;
  p->tx_slots = tx_slots;
  p->tx = calloc(tx_slots, tx_slot_size);
  p->tx_lengths = calloc(tx_slots, sizeof(uint32_t));
  p->tx_priorities = calloc(tx_slots, sizeof(uint32_t));
  p->cmsgs = calloc(tx_slots, PRIORITY_CMSG_SPACE);
  p->msgs = calloc(tx_slots, sizeof(struct mmsghdr));
  p->iovs = calloc((size_t)tx_slots * 2, sizeof(struct iovec));
  if (!p->meta || !p->meta_block || !p->tx || !p->tx_lengths || !p->tx_priorities || !p->cmsgs || !p->msgs || !p->iovs) {
    close(fd);
    free_port(p);
    return throw_errno(env, "open", ENOMEM);
  }

  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_poll_init(loop, &p->poll, fd);
  p->poll.data = p;

  napi_value obj, name, v;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_reference(env, argv[2], 1, &p->on_batch));
  CHECK(napi_create_reference(env, argv[3], 1, &p->on_error));
  CHECK(napi_create_string_utf8(env, "af_packet", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, obj, name, &p->async));
  CHECK(napi_wrap(env, obj, p, finalize_port, NULL, NULL));
  napi_value ring_ab = make_ab(env, ring, ring_bytes, &p->ring_ab);
  napi_value meta_ab = make_ab(env, p->meta, (size_t)p->meta_frames * META_WORDS * 4, &p->meta_ab);
  napi_value tx_ab = make_ab(env, p->tx, (size_t)tx_slots * tx_slot_size, &p->tx_ab);
  napi_value txl_ab = make_ab(env, p->tx_lengths, (size_t)tx_slots * 4, &p->tx_lengths_ab);
  napi_value txp_ab = make_ab(env, p->tx_priorities, (size_t)tx_slots * 4, &p->tx_priorities_ab);
  if (!ring_ab || !meta_ab || !tx_ab || !txl_ab || !txp_ab) return NULL;
  CHECK(napi_set_named_property(env, obj, "ring", ring_ab));
  CHECK(napi_set_named_property(env, obj, "meta", meta_ab));
  CHECK(napi_set_named_property(env, obj, "tx", tx_ab));
  CHECK(napi_set_named_property(env, obj, "txLengths", txl_ab));
  CHECK(napi_set_named_property(env, obj, "txPriorities", txp_ab));
  CHECK(napi_create_uint32(env, ifindex, &v));
  CHECK(napi_set_named_property(env, obj, "ifindex", v));
  uv_poll_start(&p->poll, UV_READABLE, on_poll);
  return obj;
}

/* flush(sock, count) -> frames the kernel took; the rest were refused (errno in sock.lastError). */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], this_obj, result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &this_obj, NULL));
  port_t *p = unwrap(env, argv[0]);
  if (!p) return NULL;
  uint32_t count = 0;
  CHECK(napi_get_value_uint32(env, argv[1], &count));
  if (p->closed) count = 0;
  if (count > p->tx_slots) count = p->tx_slots;
  int err = 0;
  int sent = count ? send_staged(p, count, &err) : 0;
  napi_value e;
  CHECK(napi_create_int32(env, err, &e));
  CHECK(napi_set_named_property(env, argv[0], "lastError", e));
  CHECK(napi_create_int32(env, sent, &result));
  return result;
}

/*
 * sendOne(sock, frame: Uint8Array, priority?: number) -> errno (0: sent): for a frame larger than
 * a staging slot. A frame refused for want of room is counted dropped here; any other refusal is
 * the caller's to count.
 */
static napi_value js_send_one(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  port_t *p = unwrap(env, argv[0]);
  if (!p) return NULL;
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &offset));
  uint32_t priority = 0;
  if (argc >= 3 && napi_get_value_uint32(env, argv[2], &priority) != napi_ok) priority = 0;
  int err = EBADF;
  if (!p->closed) {
    struct iovec iov[2] = {{&zero_vnet_hdr, sizeof zero_vnet_hdr}, {data, length}};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    uint8_t cmsg[PRIORITY_CMSG_SPACE];
    if (priority != 0) set_priority_cmsg(&msg, cmsg, priority);
    err = sendmsg(p->fd, &msg, MSG_DONTWAIT) < 0 ? errno : 0;
    if (no_room(err)) count_refused(p, err, 1); /* other errors: the caller throws and counts them */
  }
  CHECK(napi_create_int32(env, err, &result));
  return result;
}

static napi_status set_number(napi_env env, napi_value obj, const char *name, double value) {
  napi_value v;
  napi_status st = napi_create_double(env, value, &v);
  return st == napi_ok ? napi_set_named_property(env, obj, name, v) : st;
}

/*
 * stats(sock) -> { ringPackets, ringDrops, ringFreezes, txDropped, txErrors }: totals since open.
 * ringDrops are frames the kernel had no room for in the receive ring (tp_drops), ringFreezes the
 * times the ring was found full (tp_freeze_q_cnt: events, not frames), ringPackets the frames that
 * reached the socket, dropped ones included (tp_packets).
 */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  port_t *p = unwrap(env, argv[0]);
  if (!p) return NULL;
  if (!p->closed) {
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof st;
    memset(&st, 0, sizeof st);
    if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
      p->ring_packets += st.tp_packets;
      p->ring_drops += st.tp_drops;
      p->ring_freezes += st.tp_freeze_q_cnt;
    }
  }
  CHECK(napi_create_object(env, &obj));
  CHECK(set_number(env, obj, "ringPackets", (double)p->ring_packets));
  CHECK(set_number(env, obj, "ringDrops", (double)p->ring_drops));
  CHECK(set_number(env, obj, "ringFreezes", (double)p->ring_freezes));
  CHECK(set_number(env, obj, "txDropped", (double)p->tx_dropped));
  CHECK(set_number(env, obj, "txErrors", (double)p->tx_errors));
  return obj;
}

/* One socket for the interface ioctls of link(), opened on first use (in the process's namespace). */
static int ioctl_fd = -1;

/*
 * link(ifname) -> { ifindex, flags, mac } or null when there is no such interface: three ioctls,
 * no file opened. flags are the low 16 bits of the kernel's dev_get_flags(): IFF_UP (admin
 * state), IFF_RUNNING (operationally up: carrier, not dormant)...
 */
static napi_value js_link(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj, result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  size_t len;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], ifr.ifr_name, sizeof ifr.ifr_name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "link(ifname)");
    return NULL;
  }
  if (ioctl_fd < 0) {
    ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (ioctl_fd < 0) return throw_errno(env, "socket(AF_INET)", errno);
  }
  if (ioctl(ioctl_fd, SIOCGIFINDEX, &ifr) != 0) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(ioctl_fd, SIOCGIFFLAGS, &ifr) != 0) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  unsigned flags = (unsigned short)ifr.ifr_flags;
  struct ifreq ifr2;
  memset(&ifr2, 0, sizeof ifr2);
  memcpy(ifr2.ifr_name, ifr.ifr_name, sizeof ifr2.ifr_name);
  if (ioctl(ioctl_fd, SIOCGIFHWADDR, &ifr2) != 0) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  const uint8_t *a = (const uint8_t *)ifr2.ifr_hwaddr.sa_data;
  char mac[18];
  snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
  napi_value v;
  CHECK(napi_create_object(env, &obj));
  CHECK(set_number(env, obj, "ifindex", ifindex));
  CHECK(set_number(env, obj, "flags", flags));
  CHECK(napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, obj, "mac", v));
  return obj;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  port_t *p = unwrap(env, argv[0]);
  if (!p) return NULL;
  napi_remove_wrap(env, argv[0], NULL); /* no finalizer after this: the struct is freed by close */
  close_port(p, 0);
  return NULL;
}

/* Gives the free pages inside malloc's heap back to the system (glibc malloc_trim): after many
 * connections closed, their buffers are free but scattered between live allocations, and glibc
 * returns only the top of the heap by itself. Returns whether anything was released. */
static napi_value js_malloc_trim(napi_env env, napi_callback_info info) {
  napi_value v;
  CHECK(napi_get_boolean(env, malloc_trim(0) != 0, &v));
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_default, NULL},
      {"sendOne", NULL, js_send_one, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"link", NULL, js_link, NULL, NULL, NULL, napi_default, NULL},
      {"mallocTrim", NULL, js_malloc_trim, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  CHECK(export_abi(env, exports));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
