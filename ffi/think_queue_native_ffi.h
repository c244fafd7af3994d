/*
 * think_queue_native_ffi.h: the C ABI of libthink_queue_native_ffi.so, the FFI bridge of
 * think-queue-native (a second adapter over the same Rust core as the PHP extension).
 *
 * One library for every PHP version >= 7.4 (NTS and ZTS) and for C callers: it references no
 * PHP/Zend symbol. PHP loads it with FFI::cdef(<this file without its # lines>, <library path>);
 * php/src/backend/Ffi.php does exactly that.
 *
 * Conventions
 *  - Byte strings are (char pointer, length) pairs, never NUL-terminated (char: PHP's FFI passes a
 *    PHP string as a char pointer). Where a parameter says so,
 *    a NULL pointer means "none" (queue NULL = the default queue, data_json NULL = think-queue's
 *    default data '').
 *  - Every call that can fail returns int32_t: TQN_OK (0) or a TQN_E_* code. The message of the
 *    last failure of the calling thread is read with tqn_last_error().
 *  - Bytes handed back are either borrowed (valid as long as the object they point into, as each
 *    call says) or owned: a tqn_bytes filled by the library, released with tqn_bytes_free().
 *  - Handles (tqn_queue, tqn_job) are released with tqn_queue_free() / tqn_job_free().
 *  - No callbacks into the caller. No Rust panic crosses this boundary: it is TQN_E_INTERNAL.
 *  - A handle is used by one thread at a time.
 */
#ifndef THINK_QUEUE_NATIVE_FFI_H
#define THINK_QUEUE_NATIVE_FFI_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Status codes; the PHP exception each becomes is in brackets (namespace think\queue\native). */
enum tqn_status {
    TQN_OK = 0,
    TQN_E_QUEUE = 1,       /* [QueueException] a Redis error reply, anything else */
    TQN_E_CONNECTION = 2,  /* [ConnectionException] dead Redis, broken connection, timeout */
    TQN_E_AUTH = 3,        /* [AuthException] wrong password or user */
    TQN_E_PAYLOAD = 4,     /* [PayloadException] data that cannot become a payload */
    TQN_E_MALFORMED = 5,   /* [MalformedPayloadException] a payload in Redis think-queue did not write */
    TQN_E_CONFIG = 6,      /* [ConfigException] a bad option value */
    TQN_E_VALUE = 7,       /* [\ValueError] an argument of the right type with a bad value */
    TQN_E_TYPE = 8,        /* [\TypeError] an argument of the wrong kind */
    TQN_E_INTERNAL = 9     /* [QueueException "internal error: ..."] a bug (a caught panic) */
};

/* delay_kind of tqn_push / tqn_push_raw */
enum tqn_delay {
    TQN_NOW = 0,      /* push: RPUSH to the ready list */
    TQN_SECONDS = 1,  /* later: due in `delay` seconds (<= 0: at once) */
    TQN_AT = 2        /* laterAt: due at the unix time `delay` */
};

typedef struct tqn_queue tqn_queue;
typedef struct tqn_job tqn_job;

/* Bytes owned by the caller once filled in: release with tqn_bytes_free(). */
typedef struct tqn_bytes {
    char *ptr;
    size_t len;
} tqn_bytes;

/* What a popped job holds. Every pointer is borrowed from the job: valid until tqn_job_free()
 * (not const, nor NUL-terminated: PHP's FFI would read a const char * as a C string).
 * An *_error pointer that is not NULL is the MalformedPayloadException message of that field. */
typedef struct tqn_job_view {
    char *raw;             /* the payload as it was in the ready list (getRawBody) */
    size_t raw_len;
    char *reserved;        /* the member of the reserved set (v3: attempts + 1) */
    size_t reserved_len;
    char *queue;           /* the logical queue name it was popped from */
    size_t queue_len;
    char *payload_error;   /* NULL: the payload is a JSON object */
    size_t payload_error_len;
    char *name;            /* the payload's `job` (getName); NULL: see name_error */
    size_t name_len;
    char *name_error;
    size_t name_error_len;
    int64_t attempts;            /* think-queue's attempts() (1 on the first run); see attempts_error */
    char *attempts_error;
    size_t attempts_error_len;
    char *id;              /* the payload's `id` when it is a string; NULL: none, or see id_error */
    size_t id_len;
    char *id_error;
    size_t id_error_len;
    int32_t dialect;             /* 1 (think-queue 1.x/2.x wire) or 3 */
} tqn_job_view;

/* The ABI revision this header describes (tqn_abi_version() must return it). */
uint32_t tqn_abi_version(void);
/* The library's version, e.g. "0.1.0" (borrowed, static). */
void tqn_version(char **ptr, size_t *len);
/* The code and message of the last failed call of this thread (TQN_OK and "" when none). The
 * message is borrowed: valid until the next call of this thread. */
int32_t tqn_last_error(char **ptr, size_t *len);
/* Releases bytes the library handed back (NULL ptr: nothing to do); leaves {NULL, 0}. */
void tqn_bytes_free(tqn_bytes *bytes);

/* Opens a queue from a think-queue connection config given as a JSON object (the PHP array,
 * json_encode()d). generation: "v1" (think-queue 1.x/2.x keys) or "v3"; NULL: the config's
 * `dialect`, else v3. Connects now (a persistent config may borrow an idle pooled connection). */
int32_t tqn_queue_open(const char *config_json, size_t config_len,
                       const char *generation, size_t generation_len,
                       tqn_queue **out);
/* Sends held-back acknowledgements and closes the connection (a persistent one goes back to the
 * pool); the handle stays usable and reconnects on its next call. */
int32_t tqn_queue_close(tqn_queue *q);
/* tqn_queue_close() (best effort), then frees the handle. NULL: nothing. */
void tqn_queue_free(tqn_queue *q);
/* 1 (think-queue 1.x/2.x wire) or 3. */
int32_t tqn_queue_dialect(const tqn_queue *q);
/* The resolved options as a JSON object (no password: password_set), as RedisQueue::options(). */
int32_t tqn_queue_options(const tqn_queue *q, tqn_bytes *json_out);
/* The queue's keys as a JSON object {"ready","delayed","reserved","dead"}. */
int32_t tqn_queue_keys(const tqn_queue *q, const char *queue, size_t queue_len, tqn_bytes *json_out);
int32_t tqn_ping(tqn_queue *q);

/* push / later / laterAt of one job: job = the handler name; data_json = the data as the
 * caller's json_encode wrote it (NULL: ''); meta_json = a JSON object with the v3 fields
 * maxTries, timeout, timeoutAt that are to be written (NULL: none); object = the serialize()d
 * job object of an object job (then job is its class and data_json is not used; NULL: a plain
 * job). Fills id_out with the job id. */
int32_t tqn_push(tqn_queue *q, const char *queue, size_t queue_len,
                 int32_t delay_kind, int64_t delay,
                 const char *job, size_t job_len,
                 const char *data_json, size_t data_len,
                 const char *meta_json, size_t meta_len,
                 const char *object, size_t object_len,
                 tqn_bytes *id_out);
/* pushRaw / laterRaw: the payload bytes as given. id_out: the payload's string `id` ({NULL, 0}
 * when it has none). */
int32_t tqn_push_raw(tqn_queue *q, const char *queue, size_t queue_len,
                     int32_t delay_kind, int64_t delay,
                     const char *payload, size_t payload_len,
                     tqn_bytes *id_out);
/* bulk: every job built first (one bad job fails the call and nothing is written), then pushed
 * in one round trip. frames: per job four fields (job, data_json, meta_json, object), each a
 * 32-bit little-endian length followed by that many bytes; length 0xFFFFFFFF = absent (NULL
 * above; job must be present). ids_out: a JSON list of the ids, in order. */
int32_t tqn_bulk(tqn_queue *q, const char *queue, size_t queue_len,
                 const char *frames, size_t frames_len,
                 tqn_bytes *ids_out);

/* Takes the next job and reserves it, atomically (due delayed jobs and expired reservations are
 * moved first). block_seconds > 0 (at most 86400): waits for a job that long. *out = NULL: none. */
int32_t tqn_pop(tqn_queue *q, const char *queue, size_t queue_len, double block_seconds, tqn_job **out);
/* Fills *out with the job's fields (borrowed from the job). */
int32_t tqn_job_view_get(const tqn_job *job, tqn_job_view *out);
void tqn_job_free(tqn_job *job);

/* Acknowledges a job written behind: its reservation is removed with this queue's next command. */
int32_t tqn_ack(tqn_queue *q, const tqn_job *job);
/* Counts the job as failed in the metrics instead of processed (call after its delete). */
int32_t tqn_mark_failed(tqn_queue *q, const tqn_job *job);
/* Removes the job's reservation now; *done = 0 when it was no longer reserved. */
int32_t tqn_delete_reserved(tqn_queue *q, const tqn_job *job, int32_t *done);
/* Moves the reserved job to the delayed set, due in delay seconds; *done = 0 when it was gone. */
int32_t tqn_release(tqn_queue *q, const tqn_job *job, int64_t delay, int32_t *done);
/* Moves a reserved, unprocessable job to the dead-letter list; *done = 0 when it was gone. */
int32_t tqn_bury(tqn_queue *q, const tqn_job *job, int32_t *done);
/* Sends the held-back acknowledgements now; *sent = how many. */
int32_t tqn_flush(tqn_queue *q, int64_t *sent);

/* ready + delayed + reserved */
int32_t tqn_size(tqn_queue *q, const char *queue, size_t queue_len, int64_t *out);
int32_t tqn_sizes(tqn_queue *q, const char *queue, size_t queue_len,
                  int64_t *ready, int64_t *delayed, int64_t *reserved);
/* Moves due delayed jobs and expired reservations to the ready list now (one batch of each). */
int32_t tqn_migrate(tqn_queue *q, const char *queue, size_t queue_len, int64_t *delayed, int64_t *reserved);

#ifdef __cplusplus
}
#endif
#endif
