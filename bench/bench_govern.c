/*
 * bench_govern.c: what governance costs. Prints figures; asserts nothing.
 *  - audit: appends per second (one transaction), verify per second;
 *  - registry: one checkpoint with a 4.2 MB model blob (deflated), commit included;
 *  - policy: nanoseconds per observed event (active + challenger scores).
 */
#include "audit.h"
#include "policy.h"
#include "registry.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void bench_audit(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    audit_ensure_schema(db, NULL);
    audit_log *a = audit_new(db, "key", 3, NULL);
    const int n = 20000;
    double t0 = now();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int i = 0; i < n; i++)
        audit_append(a, 1.0, "policy", "batch", "{\"events\": 1000, \"sha256\": \"00\"}", NULL,
                     NULL, NULL);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double t1 = now();
    audit_report r;
    audit_verify(db, "key", 3, NULL, &r, NULL);
    double t2 = now();
    printf("audit: %d appends with HMAC in %.3f s (%.0f /s); verify %.0f entries/s\n", n, t1 - t0,
           n / (t1 - t0), (double)r.entries / (t2 - t1));
    audit_free(a);
    sqlite3_close(db);
}

static void bench_checkpoint(const char *path)
{
    dd_err e;
    registry *reg = registry_open(path, NULL, 0, &e, NULL);
    size_t len = 4202820;
    uint8_t *model = calloc(1, len);
    rng_t rng;
    rng_seed(&rng, 1);
    for (size_t i = 0; i < len; i += 64) /* a few thousand live weights among zeros */
        model[i] = (uint8_t)rng_u64(&rng);
    const int n = 10;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        gov_record *c = rec_new(REC_CHECKPOINT, (uint64_t)i * 10000, "policy");
        c->u.checkpoint.source = rec_strdup("bench");
        rec_blob_set(&c->u.checkpoint.active_model, model, len);
        registry_begin(reg, NULL);
        registry_apply(reg, c, 1.0, NULL);
        registry_commit(reg, NULL);
        rec_free(c);
    }
    double t1 = now();
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(registry_db(reg), "SELECT length(active_model) FROM checkpoints LIMIT 1", -1,
                       &st, NULL);
    long stored = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    printf("checkpoint: %.1f ms each with a %zu-byte model (stored deflated: %ld bytes)\n",
           (t1 - t0) * 1000 / n, len, stored);
    free(model);
    registry_free(reg);
}

static void bench_policy(void)
{
    policy_params p;
    policy_params_default(&p);
    p.checkpoint_every = 1u << 30;
    policy *pol = policy_new(&p, NULL);
    policy_start(pol, 0, 1, "m", 1, "cfg", NULL);
    policy_drift(pol, 0, "error", "adwin", DRIFT_DRIFT);
    policy_actions(pol);
    policy_give_model(pol, "c", 1, NULL);
    rng_t rng;
    rng_seed(&rng, 2);
    const uint64_t n = 2000000;
    rec_list sink = {0};
    double t0 = now();
    for (uint64_t i = 1; i <= n; i++) {
        policy_obs o = {.event_index = i,
                        .id_hash = rng_u64(&rng),
                        .labelled = true,
                        .active_score = rng_uniform(&rng) < 0.8,
                        .challenger_score = rng_uniform(&rng) < 0.8};
        policy_observe(pol, &o);
        policy_actions(pol);
        if ((i & 4095) == 0) {
            policy_take_records(pol, &sink);
            rec_list_clear(&sink);
        }
    }
    double t1 = now();
    printf("policy: %.0f ns per observed event (%llu events)\n", (t1 - t0) * 1e9 / (double)n,
           (unsigned long long)n);
    policy_take_records(pol, &sink);
    rec_list_clear(&sink);
    policy_free(pol);
}

int main(void)
{
    char dir[] = "/tmp/dd-bench-govern-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char a[64], b[64];
    snprintf(a, sizeof a, "%s/audit.db", dir);
    snprintf(b, sizeof b, "%s/registry.db", dir);
    bench_audit(a);
    bench_checkpoint(b);
    bench_policy();
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
