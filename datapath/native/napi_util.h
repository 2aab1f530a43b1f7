/*
 * napi_util.h: the Node-API helpers both of ofswitch's addons use (af_packet.c, raw_ip.c):
 * returning on a failed call, throwing an Error that carries the errno, and the external
 * ArrayBuffers through which a socket's memory is shared with JS (made with a reference, so
 * close() can detach them: JS then sees empty buffers, never freed memory).
 * Included by each addon's single source file: everything here is static inline.
 */
#ifndef OFSWITCH_NAPI_UTIL_H
#define OFSWITCH_NAPI_UTIL_H

#include <node_api.h>
#include <stdio.h>
#include <string.h>

/* The version of the interface both addons offer their TypeScript loaders (functions, arguments,
 * results, the layout of shared memory): exported as `abi` by each, and checked on load against
 * ADDON_ABI in datapath/ports/addon-abi.ts, so that a build from older sources is refused at once
 * with a message naming `bash scripts/setup.sh` rather than failing later inside the packet path.
 * Raise it (here and there) with any such change to af_packet.c or raw_ip.c. */
#define OFSWITCH_ADDON_ABI 1

/* Returns NULL (to JS: undefined, with the pending exception) when a Node-API call fails. */
#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

/* Throws Error("<what>: <strerror>") with an `errno` property; returns NULL for `return throw_errno(...)`. */
static inline napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value text, error, errno_value;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, NULL, text, &error);
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
  return NULL;
}

/* An ArrayBuffer over `data` (not owned by JS), with a reference kept in *ref for detach(). */
static inline napi_value make_ab(napi_env env, void *data, size_t len, napi_ref *ref) {
  napi_value ab;
  if (napi_create_external_arraybuffer(env, data, len, NULL, NULL, &ab) != napi_ok) return NULL;
  if (napi_create_reference(env, ab, 1, ref) != napi_ok) return NULL;
  return ab;
}

/* Detaches the ArrayBuffer of *ref (made by make_ab) and drops the reference. */
static inline void detach(napi_env env, napi_ref *ref) {
  if (*ref == NULL) return;
  napi_value ab;
  if (napi_get_reference_value(env, *ref, &ab) == napi_ok && ab != NULL) napi_detach_arraybuffer(env, ab);
  napi_delete_reference(env, *ref);
  *ref = NULL;
}

/* Sets exports.abi = OFSWITCH_ADDON_ABI. */
static inline napi_status export_abi(napi_env env, napi_value exports) {
  napi_value abi;
  napi_status status = napi_create_int32(env, OFSWITCH_ADDON_ABI, &abi);
  if (status != napi_ok) return status;
  return napi_set_named_property(env, exports, "abi", abi);
}

#endif
