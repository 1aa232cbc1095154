/*
 * test_kswire.c: knowledge-store search over the control socket. The
 * request and reply encodings round-trip, keep their limits on both sides
 * (query length, k, reply size: payloads cut on a UTF-8 boundary, hits left
 * out and counted) and refuse every truncation; then end to end against a
 * real store and control thread: the attached link's search finds what the
 * store holds, an oversized or malformed request gets an error reply with
 * its id (and the connection keeps working), and an instance without a
 * store says so.
 */
#include "console.h"
#include "control.h"
#include "kstore.h"
#include "kswire.h"
#include "queue.h"
#include "testutil.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char root[64];
static uint8_t buf[KSWIRE_REPLY_MAX + 64];

/* ---- requests ---- */

static void test_request_round_trip(void **state)
{
    (void)state;
    kswire_request a = {.id = 0x1122334455667788ull, .k = 1000}, b;
    snprintf(a.query, sizeof a.query, "zebra quokka \xc3\xa9t\xc3\xa9");
    size_t len;
    assert_int_equal(kswire_request_encode(&a, buf, sizeof buf, &len, NULL), DD_OK);
    assert_int_equal(len, 8 + 4 + 2 + strlen(a.query));
    assert_int_equal(kswire_request_decode(&b, buf, len, NULL), DD_OK);
    assert_true(b.id == a.id);
    assert_int_equal(b.k, 1000);
    assert_string_equal(b.query, a.query);
    /* every truncation is refused, with a cause */
    for (size_t n = 0; n < len; n++) {
        char *cause = NULL;
        assert_int_not_equal(kswire_request_decode(&b, buf, n, &cause), DD_OK);
        assert_non_null(cause);
        free(cause);
    }
    buf[len] = 0; /* a trailing byte */
    assert_int_equal(kswire_request_decode(&b, buf, len + 1, NULL), DD_EPARSE);
}

static void test_request_limits(void **state)
{
    (void)state;
    kswire_request r = {.id = 1, .k = 10};
    size_t len;
    char *cause = NULL;
    assert_int_equal(kswire_request_encode(&r, buf, sizeof buf, &len, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "empty"));
    free(cause);
    cause = NULL;
    memset(r.query, 'a', KSWIRE_QUERY_MAX); /* exactly the limit: fine */
    assert_int_equal(kswire_request_encode(&r, buf, sizeof buf, &len, NULL), DD_OK);
    assert_true(len <= KSWIRE_REQUEST_MAX);
    r.k = 0;
    assert_int_equal(kswire_request_encode(&r, buf, sizeof buf, &len, NULL), DD_EINVAL);
    r.k = KSTORE_MAX_K + 1;
    assert_int_equal(kswire_request_encode(&r, buf, sizeof buf, &len, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "k must be in 1..1000"));
    free(cause);
    cause = NULL;
    /* a decoder facing a peer that ignores the limits: k, length, NUL */
    wire_w w = {.buf = buf, .cap = sizeof buf};
    wire_put_u64(&w, 7);
    wire_put_u32(&w, 0);
    wire_put_str(&w, "pump", 16);
    kswire_request d;
    assert_int_equal(kswire_request_decode(&d, buf, w.len, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "k must be"));
    free(cause);
    cause = NULL;
    w = (wire_w){.buf = buf, .cap = sizeof buf};
    wire_put_u64(&w, 7);
    wire_put_u32(&w, 5);
    wire_put_u16(&w, KSWIRE_QUERY_MAX + 1);
    memset(buf + w.len, 'b', KSWIRE_QUERY_MAX + 1);
    assert_int_equal(kswire_request_decode(&d, buf, w.len + KSWIRE_QUERY_MAX + 1, &cause),
                     DD_EPARSE);
    free(cause);
    w = (wire_w){.buf = buf, .cap = sizeof buf};
    wire_put_u64(&w, 7);
    wire_put_u32(&w, 5);
    wire_put_u16(&w, 3);
    memcpy(buf + w.len, "a\0b", 3);
    assert_int_equal(kswire_request_decode(&d, buf, w.len + 3, NULL), DD_EPARSE);
}

/* ---- replies ---- */

static kstore_hit hit(const char *id, const char *payload, kstore_found f, double score)
{
    kstore_hit h = {strdup(id),   strdup(payload), strdup("ngram/1 d=64 seed=0 n=3-4 field=text"),
                    1700000000.5, score,           f};
    return h;
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    kstore_hit hits[3] = {hit("needle", "{\"text\":\"zebra\"}", KSTORE_FOUND_BOTH, 0.93),
                          hit("k17", "{\"x\":{\"t\":3}}", KSTORE_FOUND_VECTOR, 0.5),
                          hit("k18", "{}", KSTORE_FOUND_FTS, -1.25)};
    kswire_reply a = {.id = 42, .results = {3, hits}}, b;
    size_t len;
    assert_int_equal(kswire_reply_encode(&a, buf, sizeof buf, &len, NULL), DD_OK);
    assert_int_equal(kswire_reply_decode(&b, buf, len, NULL), DD_OK);
    assert_true(b.id == 42);
    assert_int_equal(b.err, DD_OK);
    assert_int_equal(b.omitted, 0);
    assert_int_equal(b.results.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(b.results.hits[i].id, hits[i].id);
        assert_string_equal(b.results.hits[i].payload, hits[i].payload);
        assert_string_equal(b.results.hits[i].version, hits[i].version);
        assert_int_equal(b.results.hits[i].found, hits[i].found);
        assert_close(b.results.hits[i].score, hits[i].score, 0);
        assert_close(b.results.hits[i].ts, 1700000000.5, 0);
        assert_int_equal(b.cut[i], 0);
    }
    kswire_reply_clear(&b);
    for (size_t n = 0; n < len; n++) {
        char *cause = NULL;
        assert_int_not_equal(kswire_reply_decode(&b, buf, n, &cause), DD_OK);
        assert_non_null(cause);
        free(cause);
        assert_int_equal(b.results.n, 0); /* left empty */
    }
    /* an error reply carries its reason and no hits */
    kswire_reply e = {.id = 43, .err = DD_ENOTFOUND, .results = {3, hits}};
    snprintf(e.cause, sizeof e.cause, "this instance has no knowledge store");
    assert_int_equal(kswire_reply_encode(&e, buf, sizeof buf, &len, NULL), DD_OK);
    assert_int_equal(kswire_reply_decode(&b, buf, len, NULL), DD_OK);
    assert_int_equal(b.err, DD_ENOTFOUND);
    assert_string_equal(b.cause, e.cause);
    assert_int_equal(b.results.n, 0);
    kswire_reply_clear(&b);
    kstore_results r = {3, calloc(3, sizeof(kstore_hit))};
    memcpy(r.hits, hits, sizeof hits);
    kstore_results_free(&r);
}

static void test_reply_is_bounded(void **state)
{
    (void)state;
    /* a 3000-byte payload of 2-byte characters, odd-aligned: the cut backs off */
    char *big = malloc(3002);
    big[0] = 'x';
    for (int i = 1; i < 3001; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[3001] = '\0';
    uint32_t n = KSWIRE_MAX_HITS;
    kstore_results r = {n, calloc(n, sizeof(kstore_hit))};
    for (uint32_t i = 0; i < n; i++) {
        char id[400];
        if (i == 0) { /* a 399-byte id: cut */
            memset(id, 'i', sizeof id - 1);
            id[sizeof id - 1] = '\0';
        } else {
            snprintf(id, sizeof id, "h%u", i);
        }
        r.hits[i] = hit(id, big, KSTORE_FOUND_VECTOR, 1.0);
    }
    kswire_reply a = {.id = 9, .results = r}, b;
    size_t len;
    assert_int_equal(kswire_reply_encode(&a, buf, sizeof buf, &len, NULL), DD_OK);
    assert_true(len <= KSWIRE_REPLY_MAX);
    assert_int_equal(kswire_reply_decode(&b, buf, len, NULL), DD_OK);
    assert_true(b.results.n > 40 && b.results.n < n);
    assert_int_equal(b.results.n + b.omitted, n);
    assert_int_equal(strlen(b.results.hits[0].id), KSWIRE_ID_MAX - 1);
    assert_int_equal(b.cut[0], KSWIRE_CUT_ID | KSWIRE_CUT_PAYLOAD);
    assert_int_equal(b.cut[1], KSWIRE_CUT_PAYLOAD);
    size_t plen = strlen(b.results.hits[1].payload);
    assert_true(plen <= KSWIRE_PAYLOAD_MAX && plen >= KSWIRE_PAYLOAD_MAX - 1);
    assert_int_equal(plen % 2, 1); /* 'x' then whole 2-byte characters */
    assert_int_equal(memcmp(b.results.hits[1].payload, big, plen), 0);
    /* re-encoding what was decoded gives the same bytes */
    static uint8_t again[KSWIRE_REPLY_MAX];
    size_t len2;
    assert_int_equal(kswire_reply_encode(&b, again, sizeof again, &len2, NULL), DD_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(again, buf, len);
    kswire_reply_clear(&b);
    kstore_results_free(&r);
    free(big);
}

static void test_reply_lies_are_refused(void **state)
{
    (void)state;
    kswire_reply b;
    char *cause = NULL;
    /* claims 5 of 3 hits */
    wire_w w = {.buf = buf, .cap = sizeof buf};
    wire_put_u64(&w, 1);
    wire_put_u8(&w, 0);
    wire_put_str(&w, "", 2);
    wire_put_u32(&w, 3);
    wire_put_u32(&w, 5);
    assert_int_equal(kswire_reply_decode(&b, buf, w.len, &cause), DD_EINVAL);
    free(cause);
    /* a count of hits the bytes cannot hold: refused before allocating */
    buf[w.len - 8] = 0xff, buf[w.len - 7] = 0xff; /* total 65535 */
    buf[w.len - 4] = 0xd0, buf[w.len - 3] = 0x07; /* m 2000 */
    assert_int_equal(kswire_reply_decode(&b, buf, w.len, NULL), DD_EPARSE);
    /* an error code that is no dd_err, and an error without a reason */
    w = (wire_w){.buf = buf, .cap = sizeof buf};
    wire_put_u64(&w, 1);
    wire_put_u8(&w, DD_ERR__COUNT);
    wire_put_str(&w, "why", 8);
    wire_put_u32(&w, 0);
    wire_put_u32(&w, 0);
    assert_int_equal(kswire_reply_decode(&b, buf, w.len, NULL), DD_EINVAL);
    buf[8] = DD_EIO;
    assert_int_equal(kswire_reply_decode(&b, buf, w.len, NULL), DD_OK);
    kswire_reply_clear(&b);
    /* a hit found by no index */
    kstore_hit h = hit("a", "{}", KSTORE_FOUND_VECTOR, 1);
    kswire_reply a = {.id = 2, .results = {1, &h}};
    size_t len;
    assert_int_equal(kswire_reply_encode(&a, buf, sizeof buf, &len, NULL), DD_OK);
    size_t found_at = 8 + 1 + 2 + 8 + 2 + 1 + 8 + 8;
    assert_int_equal(buf[found_at], KSTORE_FOUND_VECTOR);
    buf[found_at] = 0;
    assert_int_equal(kswire_reply_decode(&b, buf, len, NULL), DD_EINVAL);
    free(h.id);
    free(h.payload);
    free(h.version);
}

/* ---- end to end: a control thread answers from a real store ---- */

typedef struct e2e {
    kstore *ks;
    snap_board *board;
    queue *cmdq;
    control *ctl;
    char path[128];
} e2e;

static void submit(kstore *s, const char *json)
{
    dd_event *ev = NULL;
    assert_int_equal(event_parse_json(json, strlen(json), NULL, NULL, &ev, NULL), DD_OK);
    assert_int_equal(kstore_submit(s, ev), DD_OK);
    event_free(ev);
}

static void e2e_open(e2e *t)
{
    char dir[96], *cause = NULL;
    snprintf(dir, sizeof dir, "%s/ws", root);
    kstore_params p = kstore_params_default();
    t->ks = kstore_open(dir, &p, false, &cause);
    if (!t->ks)
        fail_msg("open: %s", cause);
    char json[256];
    for (int i = 0; i < 50; i++) {
        snprintf(json, sizeof json,
                 "{\"id\":\"k%d\",\"ts\":%d,\"x\":{\"t\":%d},\"text\":"
                 "\"turbine %d alarm\"}",
                 i, 1700000000 + i, i % 7, i);
        submit(t->ks, json);
    }
    submit(
        t->ks,
        "{\"id\":\"needle\",\"ts\":1700000300,\"x\":{\"t\":1},\"text\":\"zebra quokka narwhal\"}");
    assert_int_equal(kstore_flush(t->ks, 30000), DD_OK);
    t->board = snap_board_new();
    t->cmdq = queue_new(16);
    snprintf(t->path, sizeof t->path, "%s/driftdeck.sock", root);
    t->ctl = control_new(t->path, t->board, t->cmdq, &cause);
    if (!t->ctl)
        fail_msg("control: %s", cause);
    control_set_kstore(t->ctl, t->ks);
}

static void e2e_close(e2e *t)
{
    control_set_kstore(t->ctl, NULL);
    control_free(t->ctl);
    queue_close(t->cmdq);
    queue_free(t->cmdq, free);
    snap_board_free(t->board);
    kstore_close(t->ks);
}

static int raw_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {30, 0}; /* a generous deadline: a missing reply fails, not hangs */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static void recv_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0)
            fail_msg("recv: %s", r ? strerror(errno) : "closed");
        p += r;
        n -= (size_t)r;
    }
}

/* The next search reply on fd (snapshots skipped), decoded into *rep. */
static void next_reply(int fd, kswire_reply *rep)
{
    for (;;) {
        uint8_t hdr[WIRE_HEADER];
        wire_type type;
        uint32_t len;
        recv_all(fd, hdr, sizeof hdr);
        assert_true(wire_frame_parse(hdr, &type, &len));
        recv_all(fd, buf, len);
        if (type == WIRE_SEARCH_REPLY) {
            assert_int_equal(kswire_reply_decode(rep, buf, len, NULL), DD_OK);
            return;
        }
    }
}

static void send_request(int fd, uint64_t id, uint32_t k, const char *query)
{
    uint8_t f[WIRE_HEADER + KSWIRE_REQUEST_MAX];
    wire_w w = {.buf = f + WIRE_HEADER, .cap = KSWIRE_REQUEST_MAX};
    wire_put_u64(&w, id);
    wire_put_u32(&w, k);
    wire_put_str(&w, query, KSWIRE_QUERY_MAX + 1);
    wire_frame_header(f, WIRE_SEARCH, (uint32_t)w.len);
    send_all(fd, f, WIRE_HEADER + w.len);
}

static void test_attached_link_searches_the_instance(void **state)
{
    (void)state;
    e2e t;
    e2e_open(&t);
    char *cause = NULL;
    console_link *l = control_attach(t.path, &cause);
    assert_non_null(l);
    assert_non_null(l->ops->search);
    kstore_results r = {0};
    assert_int_equal(l->ops->search(l, "zebra quokka", 5, &r, &cause), DD_OK);
    assert_true(r.n >= 1);
    assert_string_equal(r.hits[0].id, "needle");
    assert_int_equal(r.hits[0].found, KSTORE_FOUND_BOTH);
    assert_non_null(strstr(r.hits[0].version, "ngram/1 d=64"));
    assert_close(r.hits[0].ts, 1700000300, 0);
    assert_non_null(strstr(r.hits[0].payload, "zebra quokka narwhal"));
    kstore_results_free(&r);
    /* a second search on the same link gets its own answer */
    assert_int_equal(l->ops->search(l, "turbine 17 alarm", 3, &r, NULL), DD_OK);
    assert_true(r.n >= 1);
    assert_string_equal(r.hits[0].id, "k17");
    kstore_results_free(&r);
    /* limits are kept on this side too */
    char longq[KSWIRE_QUERY_MAX + 2];
    memset(longq, 'q', sizeof longq - 1);
    longq[sizeof longq - 1] = '\0';
    assert_int_equal(l->ops->search(l, longq, 5, &r, &cause), DD_EINVAL);
    assert_non_null(strstr(cause, "longer than 1024"));
    free(cause);
    cause = NULL;
    assert_int_equal(l->ops->search(l, "pump", 0, &r, NULL), DD_EINVAL);
    /* without a store, the instance says so */
    control_set_kstore(t.ctl, NULL);
    assert_int_equal(l->ops->search(l, "zebra", 5, &r, &cause), DD_ENOTFOUND);
    assert_non_null(strstr(cause, "no knowledge store"));
    free(cause);
    control_set_kstore(t.ctl, t.ks);
    console_link_free(l);
    e2e_close(&t);
}

static void test_bad_requests_get_an_error_reply(void **state)
{
    (void)state;
    e2e t;
    e2e_open(&t);
    int fd = raw_connect(t.path);
    kswire_reply rep;
    /* oversized: 5000 bytes, more than the request limit: an error with its
     * id; the rest of its bytes are skipped */
    static uint8_t big[WIRE_HEADER + 5000];
    memset(big, 'z', sizeof big);
    wire_frame_header(big, WIRE_SEARCH, 5000);
    wire_w w = {.buf = big + WIRE_HEADER, .cap = 8};
    wire_put_u64(&w, 77);
    send_all(fd, big, sizeof big);
    next_reply(fd, &rep);
    assert_true(rep.id == 77);
    assert_int_equal(rep.err, DD_ELIMIT);
    assert_non_null(strstr(rep.cause, "more than the 1038 allowed"));
    kswire_reply_clear(&rep);
    /* malformed: k = 0 */
    send_request(fd, 78, 0, "pump");
    next_reply(fd, &rep);
    assert_true(rep.id == 78);
    assert_int_equal(rep.err, DD_EPARSE);
    assert_non_null(strstr(rep.cause, "k must be in 1..1000"));
    kswire_reply_clear(&rep);
    /* the connection still serves: two requests in one write, answered in order */
    uint8_t two[2 * (WIRE_HEADER + 64)];
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        w = (wire_w){.buf = two + n + WIRE_HEADER, .cap = 64};
        wire_put_u64(&w, 79 + (uint64_t)i);
        wire_put_u32(&w, 2);
        wire_put_str(&w, i ? "turbine 17 alarm" : "zebra quokka", 32);
        wire_frame_header(two + n, WIRE_SEARCH, (uint32_t)w.len);
        n += WIRE_HEADER + w.len;
    }
    send_all(fd, two, n);
    next_reply(fd, &rep);
    assert_true(rep.id == 79);
    assert_int_equal(rep.err, DD_OK);
    assert_string_equal(rep.results.hits[0].id, "needle");
    kswire_reply_clear(&rep);
    next_reply(fd, &rep);
    assert_true(rep.id == 80);
    assert_string_equal(rep.results.hits[0].id, "k17");
    kswire_reply_clear(&rep);
    close(fd);
    /* garbage (a reply frame sent to the instance) closes that connection only */
    fd = raw_connect(t.path);
    uint8_t hdr[WIRE_HEADER];
    wire_frame_header(hdr, WIRE_SEARCH_REPLY, 0);
    send_all(fd, hdr, sizeof hdr);
    uint8_t b1;
    assert_int_equal(recv(fd, &b1, 1, 0), 0);
    close(fd);
    fd = raw_connect(t.path);
    send_request(fd, 81, 1, "needle zebra");
    next_reply(fd, &rep);
    assert_true(rep.id == 81 && rep.err == DD_OK);
    kswire_reply_clear(&rep);
    close(fd);
    e2e_close(&t);
}

static int setup(void **state)
{
    (void)state;
    return test_dir_make(root, sizeof root, "kswire");
}

static int teardown(void **state)
{
    (void)state;
    return test_dir_remove(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_request_limits),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_reply_is_bounded),
        cmocka_unit_test(test_reply_lies_are_refused),
        cmocka_unit_test(test_attached_link_searches_the_instance),
        cmocka_unit_test(test_bad_requests_get_an_error_reply),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
