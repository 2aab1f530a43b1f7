/*
 * raw_ip: IPv4 underlay sockets for ofswitch's tunnel ports (datapath/tunnel/underlay.ts).
 *
 * Node has UDP sockets (dgram) but no raw IP socket, and neither lets a datagram's TOS, TTL,
 * "don't fragment" or UDP checksum be chosen: Interface options tos, ttl, df_default and csum need
 * all four. So this addon opens both kinds itself, as the kernel's own tunnel devices would use
 * the host's IP stack:
 *   - a UDP socket bound to (local address or any, port): VXLAN (4789), Geneve (6081); the kernel
 *     routes, resolves the next hop and builds the IP and UDP headers; SO_NO_CHECK per datagram
 *     turns the UDP checksum off (csum=false, OVS's default);
 *   - a raw IPv4 socket of one protocol (IPPROTO_GRE, 47) bound to a local address or any: the
 *     kernel builds the IP header; what it delivers starts with the received IP header.
 * Transmit, batched as af_packet.c does: JS writes each packet (tunnel header and frame) into a
 * shared staging area (`tx`, packed: slot i at any offset) and describes it in `txMeta` (offset,
 * length, destination, options); flush(count) sends them all with sendmmsg (MSG_DONTWAIT: the
 * event loop never blocks). Each packet carries its own TOS and TTL as IP_TOS and IP_TTL control
 * messages (per message, so one sendmmsg serves ports of different tos/ttl). DF (IP_MTU_DISCOVER:
 * DO sets DF and never fragments, DONT clears it and lets the kernel fragment) and the UDP
 * checksum (SO_NO_CHECK) have no control message: they are socket options, so the packets go in
 * runs of equal DF and checksum setting, the options set before a run only when they differ from
 * the socket's current ones (the socket is shared by every tunnel port of its kind; in practice
 * one run). sendmmsg stops at the first packet the kernel refuses: that packet's errno goes to
 * its slot of `txStatus` and the rest are sent on (each packet's refusal is its own: they may go
 * to different remotes), so JS learns per packet what became of it.
 *
 * Receive: the fd is watched with libuv (uv_poll_t on Node's loop); each wake-up reads up to
 * RX_BATCH datagrams with one recvmmsg into fixed slots of a shared buffer, describes them in a
 * shared Uint32Array (offset, length, source IPv4 address in network order read as a host
 * integer of the four bytes a.b.c.d = a<<24|...), and calls JS once for the batch. The slots are
 * valid until the next wake-up. libuv's epoll is level-triggered: what is left is read next turn.
 *
 * route(dst): the source address and path MTU the kernel would use towards dst (a UDP socket
 * connected to it: getsockname, IP_MTU; no packet is sent), for the tunnel's MTU check; and the
 * interface the route leaves by (RTM_GETROUTE's RTA_OIF, asked over rtnetlink) with its carrier
 * (IFF_RUNNING, as OVS's netdev-linux reads a carrier), for the Interface status keys
 * tunnel_egress_iface and tunnel_egress_iface_carrier.
 * Nothing here aborts the process; errors are errno values or thrown Errors with an `errno`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "napi_util.h"

#define RX_BATCH 64u
#define SLOT_SIZE 65536u
#define META_WORDS 3
/* Transmit staging: at most TX_SLOTS packets in TX_BYTES (at least one largest packet, 64 KiB). */
#define TX_SLOTS 256u
#define TX_BYTES (512u * 1024u)
#define TX_META_WORDS 4
/* txMeta word 3: tos (bits 0-7), ttl (8-15), DF (16), UDP checksum (17). */
#define TX_OPT_DF (1u << 16)
#define TX_OPT_CSUM (1u << 17)
#define TX_CMSG_SPACE (2 * CMSG_SPACE(sizeof(int)))
#define KIND_UDP 0
#define KIND_RAW 1

typedef struct sock {
  napi_env env;
  int fd;
  int kind;
  int closed;
  uv_poll_t poll;
  uint8_t *slots;
  uint32_t *meta;
  struct mmsghdr msgs[RX_BATCH];
  struct iovec iovs[RX_BATCH];
  struct sockaddr_in addrs[RX_BATCH];
  /* transmit staging */
  uint16_t port; /* UDP: the destination port of every packet (the bound one) */
  uint8_t *tx;
  uint32_t *tx_meta;
  int32_t *tx_status;
  struct mmsghdr tx_msgs[TX_SLOTS];
  struct iovec tx_iovs[TX_SLOTS];
  struct sockaddr_in tx_addrs[TX_SLOTS];
  union {
    struct cmsghdr align; /* control messages must be aligned as a cmsghdr */
    uint8_t buf[TX_CMSG_SPACE];
  } tx_cmsgs[TX_SLOTS];
  /* Socket options in force (-1: not set yet). */
  int df, nocheck;
  napi_ref on_batch;
  napi_ref slots_ab;
  napi_ref meta_ab;
  napi_ref tx_ab;
  napi_ref tx_meta_ab;
  napi_ref tx_status_ab;
  napi_async_context async;
} sock_t;

static void free_sock(sock_t *s) {
  free(s->slots);
  free(s->meta);
  free(s->tx);
  free(s->tx_meta);
  free(s->tx_status);
  free(s);
}

static void on_poll_closed(uv_handle_t *handle) { free_sock((sock_t *)handle->data); }

static void close_sock(sock_t *s, int from_finalizer) {
  if (s->closed) return;
  s->closed = 1;
  if (!from_finalizer) {
    detach(s->env, &s->slots_ab);
    detach(s->env, &s->meta_ab);
    detach(s->env, &s->tx_ab);
    detach(s->env, &s->tx_meta_ab);
    detach(s->env, &s->tx_status_ab);
    if (s->on_batch) napi_delete_reference(s->env, s->on_batch);
    if (s->async) napi_async_destroy(s->env, s->async);
    s->on_batch = NULL;
    s->async = NULL;
  }
  uv_poll_stop(&s->poll);
  close(s->fd);
  s->fd = -1;
  uv_close((uv_handle_t *)&s->poll, on_poll_closed);
}

static void finalize_sock(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sock_t *s = data;
  if (!s->closed) close_sock(s, 1);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  sock_t *s = handle->data;
  if (s->closed || status < 0) return;
  for (uint32_t i = 0; i < RX_BATCH; i++) {
    s->iovs[i].iov_base = s->slots + (size_t)i * SLOT_SIZE;
    s->iovs[i].iov_len = SLOT_SIZE;
    memset(&s->msgs[i].msg_hdr, 0, sizeof s->msgs[i].msg_hdr);
    s->msgs[i].msg_hdr.msg_iov = &s->iovs[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->addrs[i];
    s->msgs[i].msg_hdr.msg_namelen = sizeof s->addrs[i];
  }
  int n = recvmmsg(s->fd, s->msgs, RX_BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0) return; /* EAGAIN, or an error queued by ICMP: nothing to hand over */
  uint32_t count = 0;
  for (int i = 0; i < n; i++) {
    if (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue; /* larger than a slot: not ours to cut */
    uint32_t *m = s->meta + (size_t)count * META_WORDS;
    m[0] = (uint32_t)i * SLOT_SIZE;
    m[1] = s->msgs[i].msg_len;
    m[2] = ntohl(s->addrs[i].sin_addr.s_addr);
    count++;
  }
  if (count == 0) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, recv, argv[1], result;
  if (s->on_batch && napi_get_reference_value(env, s->on_batch, &fn) == napi_ok) {
    napi_get_global(env, &recv);
    napi_create_uint32(env, count, &argv[0]);
    napi_status st = napi_make_callback(env, s->async, recv, fn, 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static sock_t *unwrap(napi_env env, napi_value obj) {
  sock_t *s = NULL;
  if (napi_unwrap(env, obj, (void **)&s) != napi_ok || s == NULL || s->closed) {
    napi_throw_type_error(env, NULL, "not an open raw_ip socket");
    return NULL;
  }
  return s;
}

/*
 * open(kind: 0 udp | 1 raw, portOrProto, localAddr (host-order u32, 0: any), onBatch(count))
 *   -> { slots, meta, tx, txMeta, txStatus: ArrayBuffer }
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "open(kind, portOrProto, localAddr, onBatch)");
    return NULL;
  }
  uint32_t kind, num, local;
  CHECK(napi_get_value_uint32(env, argv[0], &kind));
  CHECK(napi_get_value_uint32(env, argv[1], &num));
  CHECK(napi_get_value_uint32(env, argv[2], &local));
  int fd = kind == KIND_UDP ? socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP)
                            : socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, (int)num);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int big = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(local);
  sa.sin_port = kind == KIND_UDP ? htons((uint16_t)num) : 0;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  sock_t *s = calloc(1, sizeof *s);
  if (s) {
    s->slots = malloc((size_t)RX_BATCH * SLOT_SIZE);
    s->meta = malloc((size_t)RX_BATCH * META_WORDS * 4);
    s->tx = malloc(TX_BYTES);
    s->tx_meta = calloc((size_t)TX_SLOTS * TX_META_WORDS, 4);
    s->tx_status = calloc(TX_SLOTS, 4);
  }
  if (!s || !s->slots || !s->meta || !s->tx || !s->tx_meta || !s->tx_status) {
    if (s) free_sock(s);
    close(fd);
    return throw_errno(env, "open", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->kind = (int)kind;
  s->port = kind == KIND_UDP ? (uint16_t)num : 0;
  s->df = s->nocheck = -1;
  s->poll.data = s;
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_poll_init(loop, &s->poll, fd);
  napi_value obj, name;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_reference(env, argv[3], 1, &s->on_batch));
  CHECK(napi_create_string_utf8(env, "raw_ip", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, obj, name, &s->async));
  CHECK(napi_wrap(env, obj, s, finalize_sock, NULL, NULL));
  napi_value slots_ab = make_ab(env, s->slots, (size_t)RX_BATCH * SLOT_SIZE, &s->slots_ab);
  napi_value meta_ab = make_ab(env, s->meta, (size_t)RX_BATCH * META_WORDS * 4, &s->meta_ab);
  napi_value tx_ab = make_ab(env, s->tx, TX_BYTES, &s->tx_ab);
  napi_value tx_meta_ab = make_ab(env, s->tx_meta, (size_t)TX_SLOTS * TX_META_WORDS * 4, &s->tx_meta_ab);
  napi_value tx_status_ab = make_ab(env, s->tx_status, (size_t)TX_SLOTS * 4, &s->tx_status_ab);
  if (!slots_ab || !meta_ab || !tx_ab || !tx_meta_ab || !tx_status_ab) return NULL;
  CHECK(napi_set_named_property(env, obj, "slots", slots_ab));
  CHECK(napi_set_named_property(env, obj, "meta", meta_ab));
  CHECK(napi_set_named_property(env, obj, "tx", tx_ab));
  CHECK(napi_set_named_property(env, obj, "txMeta", tx_meta_ab));
  CHECK(napi_set_named_property(env, obj, "txStatus", tx_status_ab));
  uv_poll_start(&s->poll, UV_READABLE, on_poll);
  return obj;
}

static int set_opt(int fd, int level, int name, int value, int *current) {
  if (*current == value) return 0;
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) return errno;
  *current = value;
  return 0;
}

/* Gives message i its IP_TOS and IP_TTL control messages. */
static void set_tos_ttl(sock_t *s, uint32_t i, uint32_t opts) {
  struct msghdr *msg = &s->tx_msgs[i].msg_hdr;
  memset(s->tx_cmsgs[i].buf, 0, TX_CMSG_SPACE);
  msg->msg_control = s->tx_cmsgs[i].buf;
  msg->msg_controllen = TX_CMSG_SPACE;
  struct cmsghdr *c = CMSG_FIRSTHDR(msg);
  int value = (int)(opts & 0xff);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TOS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &value, sizeof value);
  c = CMSG_NXTHDR(msg, c);
  value = (int)((opts >> 8) & 0xff);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TTL;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &value, sizeof value);
}

/* Sends staged packets [from, to) (one DF and checksum setting); returns how many the kernel took. */
static uint32_t send_run(sock_t *s, uint32_t from, uint32_t to) {
  for (uint32_t i = from; i < to; i++) {
    const uint32_t *m = s->tx_meta + (size_t)i * TX_META_WORDS;
    uint32_t offset = m[0] < TX_BYTES ? m[0] : 0;
    uint32_t length = m[1] <= TX_BYTES - offset ? m[1] : TX_BYTES - offset;
    s->tx_iovs[i].iov_base = s->tx + offset;
    s->tx_iovs[i].iov_len = length;
    memset(&s->tx_addrs[i], 0, sizeof s->tx_addrs[i]);
    s->tx_addrs[i].sin_family = AF_INET;
    s->tx_addrs[i].sin_addr.s_addr = htonl(m[2]);
    s->tx_addrs[i].sin_port = htons(s->port);
    memset(&s->tx_msgs[i], 0, sizeof s->tx_msgs[i]);
    s->tx_msgs[i].msg_hdr.msg_iov = &s->tx_iovs[i];
    s->tx_msgs[i].msg_hdr.msg_iovlen = 1;
    s->tx_msgs[i].msg_hdr.msg_name = &s->tx_addrs[i];
    s->tx_msgs[i].msg_hdr.msg_namelen = sizeof s->tx_addrs[i];
    set_tos_ttl(s, i, m[3]);
    s->tx_status[i] = 0;
  }
  uint32_t sent = 0, done = from;
  while (done < to) {
    int r = sendmmsg(s->fd, s->tx_msgs + done, to - done, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      s->tx_status[done++] = errno; /* this packet is refused: the rest are tried on */
      continue;
    }
    sent += (uint32_t)r;
    done += (uint32_t)r;
  }
  return sent;
}

/*
 * flush(sock, count) -> packets the kernel took of the staged [0, count); each refused one has
 * its errno in txStatus (0: sent).
 */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "flush(sock, count)");
    return NULL;
  }
  sock_t *s = unwrap(env, argv[0]);
  if (!s) return NULL;
  uint32_t count;
  CHECK(napi_get_value_uint32(env, argv[1], &count));
  if (count > TX_SLOTS) count = TX_SLOTS;
  const uint32_t run_bits = TX_OPT_DF | TX_OPT_CSUM;
  uint32_t sent = 0;
  for (uint32_t from = 0; from < count;) {
    uint32_t opts = s->tx_meta[(size_t)from * TX_META_WORDS + 3];
    uint32_t to = from + 1;
    while (to < count && (s->tx_meta[(size_t)to * TX_META_WORDS + 3] & run_bits) == (opts & run_bits)) to++;
    int err = set_opt(s->fd, IPPROTO_IP, IP_MTU_DISCOVER, (opts & TX_OPT_DF) ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT, &s->df);
    if (!err && s->kind == KIND_UDP) err = set_opt(s->fd, SOL_SOCKET, SO_NO_CHECK, (opts & TX_OPT_CSUM) ? 0 : 1, &s->nocheck);
    if (err) {
      for (uint32_t i = from; i < to; i++) s->tx_status[i] = err;
    } else {
      sent += send_run(s, from, to);
    }
    from = to;
  }
  CHECK(napi_create_uint32(env, sent, &result));
  return result;
}

/* The index of the interface the kernel's route to dst (network order) leaves by; 0 when none. */
static int route_oif(uint32_t dst) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return 0;
  struct {
    struct nlmsghdr nh;
    struct rtmsg rt;
    char attrs[RTA_SPACE(sizeof(uint32_t))];
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)) + RTA_LENGTH(sizeof(uint32_t));
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = AF_INET;
  req.rt.rtm_dst_len = 32;
  struct rtattr *rta = (struct rtattr *)req.attrs;
  rta->rta_type = RTA_DST;
  rta->rta_len = RTA_LENGTH(sizeof(uint32_t));
  memcpy(RTA_DATA(rta), &dst, sizeof dst);
  int oif = 0;
  union {
    struct nlmsghdr align;
    char buf[8192];
  } resp;
  if (send(fd, &req, req.nh.nlmsg_len, 0) == (ssize_t)req.nh.nlmsg_len) {
    ssize_t n = recv(fd, resp.buf, sizeof resp.buf, 0);
    struct nlmsghdr *nh = &resp.align;
    if (n > 0 && NLMSG_OK(nh, (size_t)n) && nh->nlmsg_type == RTM_NEWROUTE) {
      struct rtmsg *rt = NLMSG_DATA(nh);
      int len = (int)RTM_PAYLOAD(nh);
      for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int)) memcpy(&oif, RTA_DATA(a), sizeof oif);
      }
    }
  }
  close(fd);
  return oif;
}

/* route(dst (host-order u32)) -> { src (host-order u32), mtu, iface?, running? } or { errno } */
static napi_value js_route(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj, v;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t dst;
  CHECK(napi_get_value_uint32(env, argv[0], &dst));
  CHECK(napi_create_object(env, &obj));
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  int err = fd < 0 ? errno : 0;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(dst);
  sa.sin_port = htons(9);
  socklen_t len = sizeof sa;
  int mtu = 0;
  socklen_t mlen = sizeof mtu;
  if (!err && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) err = errno;
  if (!err && getsockname(fd, (struct sockaddr *)&sa, &len) != 0) err = errno;
  if (!err && getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &mlen) != 0) err = errno;
  struct ifreq ifr;
  int have_iface = 0;
  memset(&ifr, 0, sizeof ifr);
  if (!err) {
    int oif = route_oif(htonl(dst));
    if (oif > 0 && if_indextoname((unsigned)oif, ifr.ifr_name) != NULL && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) have_iface = 1;
  }
  if (fd >= 0) close(fd);
  if (err) {
    CHECK(napi_create_int32(env, err, &v));
    CHECK(napi_set_named_property(env, obj, "errno", v));
    return obj;
  }
  CHECK(napi_create_uint32(env, ntohl(sa.sin_addr.s_addr), &v));
  CHECK(napi_set_named_property(env, obj, "src", v));
  CHECK(napi_create_int32(env, mtu, &v));
  CHECK(napi_set_named_property(env, obj, "mtu", v));
  if (have_iface) {
    CHECK(napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, obj, "iface", v));
    CHECK(napi_get_boolean(env, (ifr.ifr_flags & IFF_RUNNING) != 0, &v));
    CHECK(napi_set_named_property(env, obj, "running", v));
  }
  return obj;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = NULL;
  /* Unwrapped first: the struct is freed once libuv lets go of the poll, so no finalizer may see it after. */
  if (napi_remove_wrap(env, argv[0], (void **)&s) == napi_ok && s != NULL && !s->closed) close_sock(s, 0);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_default, NULL},
      {"route", NULL, js_route, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  export_abi(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
