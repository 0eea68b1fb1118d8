// Linux calls Node has no binding for. Most are hints to the kernel or to glibc's allocator:
// a failure changes how much memory Marble holds, never what it stores. sendRange and
// pagesCached let a reply go from the page cache to a socket without a copy in between; where
// they are missing the caller copies, as it does whenever they decline.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#define CHECK(env, call)                                          \
  do {                                                            \
    if ((call) != napi_ok) {                                      \
      napi_throw_error((env), NULL, "marble-native: " #call);     \
      return NULL;                                                \
    }                                                             \
  } while (0)

static int32_t int_arg(napi_env env, napi_callback_info info, size_t index, size_t count, int *ok) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t out = 0;
  *ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= count &&
        napi_get_value_int32(env, argv[index], &out) == napi_ok;
  if (!*ok) napi_throw_type_error(env, NULL, "marble-native: expected integer arguments");
  return out;
}

// ---- dropCache(fd): Promise<void> --------------------------------------------------------
// posix_fadvise(POSIX_FADV_DONTNEED) over the whole file, on the thread pool: dropping a
// large file's pages takes milliseconds.

typedef struct {
  int fd;
  int error;
  napi_deferred deferred;
  napi_async_work work;
} DropCacheJob;

static void drop_cache_execute(napi_env env, void *data) {
  (void)env;
  DropCacheJob *job = data;
  job->error = posix_fadvise(job->fd, 0, 0, POSIX_FADV_DONTNEED);
}

static void drop_cache_complete(napi_env env, napi_status status, void *data) {
  DropCacheJob *job = data;
  napi_value result;
  if (status == napi_ok && job->error == 0) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message;
    const char *text = status == napi_ok ? strerror(job->error) : "cancelled";
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value drop_cache(napi_env env, napi_callback_info info) {
  int ok;
  int32_t fd = int_arg(env, info, 0, 1, &ok);
  if (!ok) return NULL;
  DropCacheJob *job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "marble-native: out of memory");
    return NULL;
  }
  job->fd = fd;
  napi_value promise, name;
  CHECK(env, napi_create_promise(env, &job->deferred, &promise));
  CHECK(env, napi_create_string_utf8(env, "marble.dropCache", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_async_work(env, NULL, name, drop_cache_execute, drop_cache_complete, job, &job->work));
  CHECK(env, napi_queue_async_work(env, job->work));
  return promise;
}

// ---- mallopt(param, value): boolean, mallocTrim(pad): boolean ----------------------------

static napi_value set_malloc_option(napi_env env, napi_callback_info info) {
  int ok;
  int32_t param = int_arg(env, info, 0, 2, &ok);
  if (!ok) return NULL;
  int32_t value = int_arg(env, info, 1, 2, &ok);
  if (!ok) return NULL;
  napi_value out;
  CHECK(env, napi_get_boolean(env, mallopt(param, value) == 1, &out));
  return out;
}

static napi_value malloc_trim_now(napi_env env, napi_callback_info info) {
  int ok;
  int32_t pad = int_arg(env, info, 0, 1, &ok);
  if (!ok) return NULL;
  napi_value out;
  CHECK(env, napi_get_boolean(env, malloc_trim((size_t)pad) == 1, &out));
  return out;
}

#ifdef __linux__
// ---- sendRange(socket, head, file, offset, length, pad): number ---------------------------
// Sends `head`, then `length` bytes of `file` from `offset` (sendfile: page cache to socket,
// no copy through memory of ours), then `pad` zero bytes, without blocking. Returns how many
// of those bytes the kernel took: all of them, or fewer where the socket's buffer filled up or
// a call failed. The caller sends the rest its usual way, which reports any error. sendfile
// takes no MSG_NOSIGNAL: a peer gone raises SIGPIPE, which Node ignores (it sets SIG_IGN).

/** The first `count` arguments into argv; throws and returns 0 when fewer were passed. */
static int fetch_args(napi_env env, napi_callback_info info, napi_value *argv, size_t count) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, NULL, "marble-native: missing arguments");
    return 0;
  }
  return 1;
}

static int64_t int64_of(napi_env env, napi_value v, int *ok) {
  int64_t out = 0;
  if (*ok && (napi_get_value_int64(env, v, &out) != napi_ok || out < 0)) {
    napi_throw_type_error(env, NULL, "marble-native: expected non-negative integers");
    *ok = 0;
  }
  return out;
}

/** send() until done or the socket would block; adds what went to *sent. False when it stopped early. */
static int send_all(int socket, const char *bytes, size_t length, int more, int64_t *sent) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = send(socket, bytes + done, length - done, MSG_DONTWAIT | MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    done += (size_t)n;
    *sent += n;
  }
  return 1;
}

static napi_value send_range(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!fetch_args(env, info, argv, 6)) return NULL;
  void *head;
  size_t head_length;
  if (napi_get_buffer_info(env, argv[1], &head, &head_length) != napi_ok) {
    napi_throw_type_error(env, NULL, "marble-native: head must be a Buffer");
    return NULL;
  }
  int ok = 1;
  int socket = (int)int64_of(env, argv[0], &ok);
  int file = (int)int64_of(env, argv[2], &ok);
  off_t offset = (off_t)int64_of(env, argv[3], &ok);
  size_t length = (size_t)int64_of(env, argv[4], &ok);
  size_t pad = (size_t)int64_of(env, argv[5], &ok);
  if (!ok) return NULL;
  if (pad > 3) {
    napi_throw_range_error(env, NULL, "marble-native: pad is at most 3 bytes");
    return NULL;
  }
  static const char zeros[3] = {0, 0, 0};
  int64_t sent = 0;
  // MSG_MORE: the head waits for the data rather than leaving in a segment of its own.
  if (send_all(socket, head, head_length, length + pad > 0, &sent)) {
    size_t done = 0;
    while (done < length) {
      ssize_t n = sendfile(socket, file, &offset, length - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += (size_t)n;
      sent += n;
    }
    if (done == length) send_all(socket, zeros, pad, 0, &sent);
  }
  napi_value out;
  CHECK(env, napi_create_int64(env, sent, &out));
  return out;
}

// ---- pagesCached(file, offset, length): boolean -----------------------------------------
// Whether every page of the range is in the page cache (mincore over a mapping of it), so
// that sendRange will not wait for the disk.

static napi_value pages_cached(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!fetch_args(env, info, argv, 3)) return NULL;
  int ok = 1;
  int file = (int)int64_of(env, argv[0], &ok);
  int64_t offset = int64_of(env, argv[1], &ok);
  int64_t length = int64_of(env, argv[2], &ok);
  if (!ok) return NULL;
  int cached = 0;
  if (length > 0) {
    long page = sysconf(_SC_PAGESIZE);
    int64_t start = offset - offset % page;
    size_t span = (size_t)(offset + length - start);
    size_t pages = (span + (size_t)page - 1) / (size_t)page;
    unsigned char *resident = malloc(pages);
    void *map = resident ? mmap(NULL, span, PROT_READ, MAP_SHARED, file, start) : MAP_FAILED;
    if (map != MAP_FAILED) {
      if (mincore(map, span, resident) == 0) {
        cached = 1;
        for (size_t i = 0; i < pages && cached; i++) cached = resident[i] & 1;
      }
      munmap(map, span);
    }
    free(resident);
  }
  napi_value out;
  CHECK(env, napi_get_boolean(env, cached, &out));
  return out;
}
#endif

static napi_value constant(napi_env env, napi_value exports, const char *name, int32_t value) {
  napi_value v;
  if (napi_create_int32(env, value, &v) != napi_ok || napi_set_named_property(env, exports, name, v) != napi_ok) return NULL;
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"dropCache", NULL, drop_cache, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mallopt", NULL, set_malloc_option, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mallocTrim", NULL, malloc_trim_now, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods));
#ifdef __linux__
  napi_property_descriptor zero_copy[] = {
      {"sendRange", NULL, send_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pagesCached", NULL, pages_cached, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof zero_copy / sizeof zero_copy[0], zero_copy));
#endif
  if (!constant(env, exports, "M_MMAP_THRESHOLD", M_MMAP_THRESHOLD)) return NULL;
  if (!constant(env, exports, "M_TRIM_THRESHOLD", M_TRIM_THRESHOLD)) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
