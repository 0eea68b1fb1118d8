// Linux calls Node has no binding for. Each is a hint to the kernel or to glibc's allocator:
// a failure changes how much memory Marble holds, never what it stores.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

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
  if (!constant(env, exports, "M_MMAP_THRESHOLD", M_MMAP_THRESHOLD)) return NULL;
  if (!constant(env, exports, "M_TRIM_THRESHOLD", M_TRIM_THRESHOLD)) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
