/* test_wsclient.c: the pure parts of the WebSocket client: URL parsing,
 * handshake header checking (no header injection), and the options. The
 * network behaviour is tested against real servers in tests/test_ws_*.sh. */
#include "wsclient.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void urls_parse_with_default_ports_and_paths(void **state)
{
    (void)state;
    wsclient_url u;
    assert_int_equal(wsclient_parse_url("ws://example.org", &u, NULL), DD_OK);
    assert_false(u.tls);
    assert_string_equal(u.host, "example.org");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");
    assert_int_equal(wsclient_parse_url("wss://h:8443/feed/a?k=v&x=1#frag", &u, NULL), DD_OK);
    assert_true(u.tls);
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.path, "/feed/a?k=v&x=1");
    assert_int_equal(wsclient_parse_url("wss://h", &u, NULL), DD_OK);
    assert_int_equal(u.port, 443);
    assert_int_equal(wsclient_parse_url("ws://[::1]:9000?q", &u, NULL), DD_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9000);
    assert_string_equal(u.path, "/?q");
}

static void bad_urls_are_refused_with_a_cause(void **state)
{
    (void)state;
    const char *bad[] = {"http://h/",   "ws://",      "ws://:80/",  "ws://h:0/", "ws://h:65536",
                         "ws://h:12x/", "ws://[::1/", "ws://h/a b", "wss//h",    "ws://h@x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wsclient_url u;
        char *cause = NULL;
        assert_int_equal(wsclient_parse_url(bad[i], &u, &cause), DD_EINVAL);
        assert_non_null(cause);
        free(cause);
    }
}

static void headers_are_checked(void **state)
{
    (void)state;
    assert_int_equal(wsclient_check_headers("Authorization: Bearer abc\n\n# c\nX-K:v\r\n", NULL),
                     2);
    assert_int_equal(wsclient_check_headers("", NULL), 0);
    const char *bad[] = {"NoColon", ": v", "Bad Name: v", "X: a\x01b", "X(: v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *cause = NULL;
        assert_int_equal(wsclient_check_headers(bad[i], &cause), -1);
        assert_non_null(cause);
        free(cause);
    }
}

static void headers_come_from_file_or_environment(void **state)
{
    (void)state;
    char path[] = "/tmp/dd-test-hdr-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "Authorization: Bearer s3cret\n", 29), 29);
    close(fd);
    char *h = NULL;
    assert_int_equal(wsclient_load_headers(path, &h, NULL), DD_OK);
    assert_string_equal(h, "Authorization: Bearer s3cret\n");
    free(h);
    unlink(path);
    char *cause = NULL;
    assert_int_equal(wsclient_load_headers(path, &h, &cause), DD_EIO);
    free(cause);
    setenv("DRIFTDECK_WS_HEADERS", "X-Token: t", 1);
    assert_int_equal(wsclient_load_headers(NULL, &h, NULL), DD_OK);
    assert_string_equal(h, "X-Token: t");
    free(h);
    unsetenv("DRIFTDECK_WS_HEADERS");
    assert_int_equal(wsclient_load_headers(NULL, &h, NULL), DD_OK);
    assert_null(h);
}

static void options_apply_and_bad_values_fail(void **state)
{
    (void)state;
    char *argv[] = {
        "x",  "--insecure", "--ping-interval", "2.5", "--max-message-bytes", "100", "--header-file",
        "/h", "--other",    "--max-attempts",  "-1"};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    wsclient_params p;
    wsclient_params_default(&p);
    assert_int_equal(p.max_message, 1u << 20);
    const char *hf = NULL;
    int i = 1;
    assert_int_equal(wsclient_option(argc, argv, &i, &p, &hf, NULL), 1);
    assert_true(p.insecure);
    i = 2;
    assert_int_equal(wsclient_option(argc, argv, &i, &p, &hf, NULL), 1);
    assert_int_equal(i, 3);
    assert_true(p.ping_interval == 2.5);
    i = 4;
    assert_int_equal(wsclient_option(argc, argv, &i, &p, &hf, NULL), 1);
    assert_int_equal(p.max_message, 100);
    i = 6;
    assert_int_equal(wsclient_option(argc, argv, &i, &p, &hf, NULL), 1);
    assert_string_equal(hf, "/h");
    i = 8;
    assert_int_equal(wsclient_option(argc, argv, &i, &p, &hf, NULL), 0);
    i = 9;
    char *cause = NULL;
    assert_int_equal(wsclient_option(argc, argv, &i, &p, &hf, &cause), -1);
    assert_non_null(cause);
    free(cause);
}

static void client_refuses_bad_configuration(void **state)
{
    (void)state;
    wsclient_params p;
    wsclient_params_default(&p);
    wsclient_handler h = {0};
    source_stats st;
    memset(&st, 0, sizeof st);
    char *cause = NULL;
    p.ca_file = "/nonexistent/ca.pem";
    assert_null(wsclient_new("wss://127.0.0.1:1/", &p, &h, &st, &cause));
    assert_non_null(strstr(cause, "CA file"));
    free(cause);
    cause = NULL;
    p.ca_file = NULL;
    p.headers = "Evil: a\rb";
    assert_null(wsclient_new("ws://127.0.0.1:1/", &p, &h, &st, &cause));
    assert_non_null(cause);
    free(cause);
    wsclient_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(urls_parse_with_default_ports_and_paths),
        cmocka_unit_test(bad_urls_are_refused_with_a_cause),
        cmocka_unit_test(headers_are_checked),
        cmocka_unit_test(headers_come_from_file_or_environment),
        cmocka_unit_test(options_apply_and_bad_values_fail),
        cmocka_unit_test(client_refuses_bad_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
