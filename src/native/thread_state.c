/* Per-environment state (see thread_state.h): created on the first call from an environment, freed
 * when the environment's async cleanup hook has closed every handle. Node aborts the process when a
 * worker's loop is closed with handles still open, so worker exit waits for the close callbacks here. */
#include "thread_state.h"

#include <stdlib.h>
#include <string.h>

#define TIMER_MIN_MS 10u
#define TIMER_MAX_MS 1000u

void thread_state_handle_closed(struct thread_state *ts) {
  ts->handles_open--;
  if (ts->tearing_down && ts->handles_open == 0) {
    /* The last handle of a dying environment is closed: nothing of ours is left on its loop. */
    napi_async_cleanup_hook_handle hook = ts->cleanup;
    free(ts->buf);
    free(ts->slots);
    free(ts->slot_gen);
    free(ts);
    napi_remove_async_cleanup_hook(hook);
  }
}

static void thread_state_closed(struct thread_state *ts, struct tunnel *t);

/* Reports and frees every retired tunnel. A report may call JS, which may close more: they are taken too. */
static void reap(struct thread_state *ts) {
  while (ts->retired != NULL) {
    struct tunnel *t = ts->retired;
    ts->retired = t->retired_next;
    thread_state_closed(ts, t);
  }
}

static void on_reap(uv_idle_t *h) {
  struct thread_state *ts = h->data;
  uv_idle_stop(h);
  reap(ts);
}

void thread_state_retire(struct thread_state *ts, struct tunnel *t) {
  t->retired_next = ts->retired;
  ts->retired = t;
  /* An active idle handle also makes uv_backend_timeout 0, so a stay (tunnel_loop.h) ends after its batch. */
  if (!ts->tearing_down) uv_idle_start(&ts->reaper, on_reap);
}

/* The close callback of the thread's own timers (idle/grace, coalesce.c's), whose data is the state. */
static void on_timer_closed(uv_handle_t *h) {
  thread_state_handle_closed(h->data);
}

/* Worker exit (or process exit): close every tunnel, backend leg, front listener and connection, raw fd JS
 * still held, and timer, call no JS. The state is freed by
 * the last close callback, whichever handle it belongs to. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  struct thread_state *ts = arg;
  ts->tearing_down = true;
  ts->cleanup = hook;
  while (ts->head != NULL) {
    struct tunnel *t = ts->head;
    relay_fail(&t->relay, RELAY_DESTROYED, 0);
    tunnel_close(t); /* unlinks t, gives its pipes back, retires it */
  }
  reap(ts); /* tearing down: frees them, calls no JS */
  leg_abort_all(ts);
  front_close_all(ts);
  held_fds_close_all(&ts->held);
  pipe_pool_close(&ts->pipes);
  if (ts->on_close != NULL) napi_delete_reference(ts->env, ts->on_close);
  ts->on_close = NULL;
  if (ts->on_leg != NULL) napi_delete_reference(ts->env, ts->on_leg);
  ts->on_leg = NULL;
  if (ts->leg_buf_ref != NULL) napi_delete_reference(ts->env, ts->leg_buf_ref);
  ts->leg_buf_ref = NULL;
  ts->leg_buf = NULL;
  if (ts->async_ctx != NULL) napi_async_destroy(ts->env, ts->async_ctx);
  ts->async_ctx = NULL;
  uv_timer_stop(&ts->timer);
  uv_close((uv_handle_t *)&ts->timer, on_timer_closed);
  coalesce_close(&ts->coalesce, on_timer_closed);
  tunnel_loop_close(&ts->tl, on_timer_closed);
  uv_close((uv_handle_t *)&ts->reaper, on_timer_closed); /* stops it too */
}

static void on_timer(uv_timer_t *timer) {
  struct thread_state *ts = timer->data;
  uint64_t now = uv_now(ts->loop);
  struct tunnel *next;
  for (struct tunnel *t = ts->head; t != NULL; t = next) {
    next = t->next; /* acting on t may unlink it */
    if (t->deadline != 0 && now >= t->deadline) {
      /* A goodbye's bound passed: FIN as a plain close does (tunnel_update starts the grace); a grace
       * deadline passed: destroyed. */
      if (t->goodbye) relay_goodbye_timeout(&t->relay);
      else relay_fail(&t->relay, RELAY_DESTROYED, 0);
      tunnel_update(t);
    } else if (t->idle_ms != 0 && t->deadline == 0 && now - t->last_active >= t->idle_ms) {
      relay_drain(&t->relay, RELAY_IDLE_TIMEOUT);
      t->deadline = now + 2000; /* the same grace as the JS engine's close() */
      tunnel_update(t);
    }
  }
  if (ts->head == NULL) {
    uv_timer_stop(&ts->timer);
    ts->timer_period = 0;
  }
}

struct thread_state *thread_state_get(napi_env env) {
  struct thread_state *ts = NULL;
  if (napi_get_instance_data(env, (void **)&ts) == napi_ok && ts != NULL) return ts;
  ts = calloc(1, sizeof *ts);
  char *buf = malloc(THREAD_BUFFER_BYTES);
  uv_loop_t *loop = NULL;
  if (ts == NULL || buf == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    free(ts);
    free(buf);
    napi_throw_error(env, "WSP_NATIVE", "native tunnel state could not be created");
    return NULL;
  }
  ts->env = env;
  ts->loop = loop;
  ts->buf = buf;
  int rc = uv_timer_init(loop, &ts->timer);
  if (rc != 0) {
    free(ts);
    free(buf);
    napi_throw_error(env, "WSP_NATIVE", uv_strerror(rc));
    return NULL;
  }
  ts->timer.data = ts;
  ts->handles_open = 1;
  /* The timer alone must not keep a loop alive: the tunnels' epoll set does that while tunnels exist. */
  uv_unref((uv_handle_t *)&ts->timer);
  if (coalesce_init(&ts->coalesce, loop, ts) != 0) {
    uv_close((uv_handle_t *)&ts->timer, NULL); /* ts leaks (a few bytes, once) rather than race the close */
    napi_throw_error(env, "WSP_NATIVE", "native tunnel flush timer could not be created");
    return NULL;
  }
  ts->handles_open++;
  if (tunnel_loop_start(&ts->tl, loop, tunnel_on_ready, ts) != 0) {
    uv_close((uv_handle_t *)&ts->timer, NULL); /* ts leaks (a few bytes, once) rather than race the close */
    coalesce_close(&ts->coalesce, NULL);
    napi_throw_error(env, "WSP_NATIVE", "native tunnel epoll set could not be created");
    return NULL;
  }
  ts->handles_open++;
  uv_idle_init(loop, &ts->reaper); /* cannot fail */
  ts->reaper.data = ts;
  ts->handles_open++;
  napi_value name;
  napi_create_string_utf8(env, "wspass.nativeTunnel", NAPI_AUTO_LENGTH, &name);
  if (napi_async_init(env, NULL, name, &ts->async_ctx) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_env_cleanup, ts, &ts->cleanup) != napi_ok ||
      napi_set_instance_data(env, ts, NULL, NULL) != napi_ok) {
    /* Too early in start-up to have anything else: give the timer back and leave the state to it. */
    if (ts->async_ctx != NULL) napi_async_destroy(env, ts->async_ctx);
    uv_close((uv_handle_t *)&ts->timer, NULL); /* ts leaks (a few bytes, once) rather than race the close */
    coalesce_close(&ts->coalesce, NULL);
    tunnel_loop_close(&ts->tl, NULL);
    uv_close((uv_handle_t *)&ts->reaper, NULL);
    napi_throw_error(env, "WSP_NATIVE", "native tunnel state could not be registered");
    return NULL;
  }
  return ts;
}

int thread_state_add(struct thread_state *ts, struct tunnel *t) {
  uint32_t i = ts->free_slot;
  while (i < ts->slot_count && ts->slots[i] != NULL) i++;
  if (i == ts->slot_count) {
    if (ts->slot_count >= (1u << SLOT_BITS)) return -1;
    uint32_t n = ts->slot_count == 0 ? 64 : ts->slot_count * 2;
    struct tunnel **slots = realloc(ts->slots, n * sizeof *slots);
    if (slots == NULL) return -1;
    ts->slots = slots;
    uint32_t *gen = realloc(ts->slot_gen, n * sizeof *gen);
    if (gen == NULL) return -1; /* the larger slots array is kept; slot_count still says the old size */
    ts->slot_gen = gen;
    memset(ts->slots + ts->slot_count, 0, (n - ts->slot_count) * sizeof *slots);
    memset(ts->slot_gen + ts->slot_count, 0, (n - ts->slot_count) * sizeof *gen);
    ts->slot_count = n;
  }
  ts->slots[i] = t;
  ts->free_slot = i + 1;
  t->slot = i;
  t->gen = ts->slot_gen[i];
  t->ts = ts;
  t->prev = NULL;
  t->next = ts->head;
  if (ts->head != NULL) ts->head->prev = t;
  ts->head = t;
  ts->live++;
  return 0;
}

struct tunnel *thread_state_find(struct thread_state *ts, double id) {
  if (!(id >= 0)) return NULL;
  uint64_t v = (uint64_t)id;
  uint32_t slot = (uint32_t)(v & ((1u << SLOT_BITS) - 1));
  uint32_t gen = (uint32_t)(v >> SLOT_BITS);
  if (slot >= ts->slot_count || ts->slots[slot] == NULL || ts->slot_gen[slot] != gen) return NULL;
  struct tunnel *t = ts->slots[slot];
  return t->closing ? NULL : t;
}

void thread_state_unlink(struct thread_state *ts, struct tunnel *t) {
  if (t->prev != NULL) t->prev->next = t->next;
  else if (ts->head == t) ts->head = t->next;
  if (t->next != NULL) t->next->prev = t->prev;
  t->prev = t->next = NULL;
  /* Open tunnels keep the loop alive, as their polls did when each fd had its own. */
  if (ts->head == NULL) uv_unref((uv_handle_t *)&ts->tl.poll);
}

static void release_slot(struct thread_state *ts, struct tunnel *t) {
  ts->slots[t->slot] = NULL;
  ts->slot_gen[t->slot] = (ts->slot_gen[t->slot] + 1) & ((1u << 28) - 1);
  if (t->slot < ts->free_slot) ts->free_slot = t->slot;
}

double thread_state_id(const struct tunnel *t) {
  return (double)t->slot + (double)t->gen * (double)(1u << SLOT_BITS);
}

napi_value thread_state_call(struct thread_state *ts, napi_ref ref, size_t argc, napi_value *argv) {
  napi_env env = ts->env;
  napi_value fn, recv, result = NULL;
  if (ref == NULL || napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL || napi_get_global(env, &recv) != napi_ok)
    return NULL;
  if (napi_make_callback(env, ts->async_ctx, recv, fn, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_value err;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending && napi_get_and_clear_last_exception(env, &err) == napi_ok)
      napi_fatal_exception(env, err);
    return NULL;
  }
  return result;
}

/* Calls the JS close handler with the tunnel's figures. */
static void report(struct thread_state *ts, struct tunnel *t) {
  napi_env env = ts->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[8];
  const struct relay *r = &t->relay;
  napi_create_double(env, thread_state_id(t), &argv[0]);
  napi_create_uint32(env, r->reason == RELAY_OPEN ? RELAY_CLOSED : r->reason, &argv[1]);
  napi_create_double(env, (double)r->lane[RELAY_CLIENT].bytes, &argv[2]);
  napi_create_double(env, (double)r->lane[RELAY_BACKEND].bytes, &argv[3]);
  napi_create_double(env, (double)r->lane[RELAY_CLIENT].sends + (double)r->lane[RELAY_BACKEND].sends, &argv[4]);
  napi_create_int32(env, r->error, &argv[5]);
  napi_create_uint32(env, r->goodbye == GOODBYE_ACTIVE ? GOODBYE_FIN : r->goodbye, &argv[6]);
  napi_create_uint32(env, r->frames_dropped, &argv[7]);
  thread_state_call(ts, ts->on_close, 8, argv);
  napi_close_handle_scope(env, scope);
}

static void thread_state_closed(struct thread_state *ts, struct tunnel *t) {
  ts->live--;
  /* The last tunnel of the thread is gone: its pipes too, so a quiet worker holds no fd of ours. */
  if (ts->live == 0) pipe_pool_close(&ts->pipes);
  if (!ts->tearing_down && ts->on_close != NULL) report(ts, t);
  release_slot(ts, t);
  free(t);
}

void thread_state_need_timer(struct thread_state *ts, uint64_t within_ms) {
  uint64_t period = within_ms / 4;
  if (period < TIMER_MIN_MS) period = TIMER_MIN_MS;
  if (period > TIMER_MAX_MS) period = TIMER_MAX_MS;
  if (ts->timer_period != 0 && ts->timer_period <= period) return;
  ts->timer_period = period;
  uv_timer_start(&ts->timer, on_timer, period, period);
}

void thread_state_discard(struct thread_state *ts, struct tunnel *t) {
  thread_state_unlink(ts, t);
  release_slot(ts, t);
  ts->live--;
  relay_close_fds(&t->relay);
  free(t);
}
