/* SPDX-License-Identifier: Apache-2.0 */
/* Group commit: concurrent small writes (attestation decisions, volume versions) share one transaction and one fsync. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store-internal.h"

/*
 * A thread with a write to make queues it and waits. If no batch is running, it becomes the
 * leader: it takes every queued write, runs them in one transaction on its own connection,
 * each inside a SAVEPOINT (a failing write is rolled back alone and reports its own error),
 * commits once, and wakes the writers. Nobody returns before the transaction holding its
 * write has committed, so "acknowledged" still means "durable". Writes queued while a batch
 * runs form the next batch: under load, one fsync covers as many writes as threads wait.
 */
struct job {
    veil_cas_write_fn fn;
    void *arg;
    int result;
    char detail[512];
    bool done;
    struct job *next;
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_done = PTHREAD_COND_INITIALIZER;
static struct job *queue_head, **queue_tail = &queue_head;
static bool leader_active;

static void run_batch(struct veil_cas_store *s, struct job *batch) {
    int r = veil_cas_store_begin(s);
    for (struct job *j = batch; j; j = j->next) {
        if (r < 0) {
            j->result = r;
            continue;
        }
        veil_err_clear();
        j->result = veil_cas_sql_exec(s, "SAVEPOINT job");
        if (j->result >= 0) {
            j->result = j->fn(s, j->arg);
            snprintf(j->detail, sizeof(j->detail), "%s", veil_err_msg());
            if (j->result < 0 && veil_cas_sql_exec(s, "ROLLBACK TO job") < 0) r = -EIO;
            if (r >= 0 && veil_cas_sql_exec(s, "RELEASE job") < 0) r = -EIO;
        }
    }
    if (r >= 0) r = veil_cas_store_commit(s);
    if (r < 0) {
        /* nothing of this batch is durable: every write fails, also those that had succeeded */
        const char *why = veil_err_msg();
        for (struct job *j = batch; j; j = j->next)
            if (j->result >= 0) {
                j->result = r;
                snprintf(j->detail, sizeof(j->detail), "%s", why);
            }
        veil_cas_store_rollback(s);
    }
}

int veil_cas_store_write(struct veil_cas_store *s, veil_cas_write_fn fn, void *arg) {
    struct job job = { .fn = fn, .arg = arg };
    pthread_mutex_lock(&queue_lock);
    *queue_tail = &job;
    queue_tail = &job.next;
    while (!job.done) {
        if (leader_active) {
            pthread_cond_wait(&queue_done, &queue_lock);
            continue;
        }
        leader_active = true;
        struct job *batch = queue_head;
        queue_head = NULL;
        queue_tail = &queue_head;
        pthread_mutex_unlock(&queue_lock);
        run_batch(s, batch);
        pthread_mutex_lock(&queue_lock);
        for (struct job *j = batch, *next; j; j = next) {
            next = j->next; /* j lives on its writer's stack: read next before marking it done */
            j->done = true;
        }
        leader_active = false;
        pthread_cond_broadcast(&queue_done);
    }
    pthread_mutex_unlock(&queue_lock);
    if (job.result < 0 && job.detail[0]) return veil_err(job.result, "%s", job.detail);
    return job.result;
}
