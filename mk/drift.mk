# mk/drift.mk: sources, tests and benchmarks of this area (included by Makefile.am).
libddcore_a_SOURCES += core/drift.c core/drift_impl.h core/adwin.c core/adwin.h \
	core/pagehinkley.c core/ddm.c core/kswin.c core/kswin.h core/watch.c core/watch.h

check_PROGRAMS += tests/test_adwin
TESTS += tests/test_adwin
tests_test_adwin_SOURCES = tests/test_adwin.c
tests_test_adwin_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_adwin_LDADD = $(TEST_LIBS)
libddsrc_a_SOURCES += src/cmd_detect.c
TESTS += tests/test_detect.sh tests/test_drift_headless.sh
EXTRA_DIST += tests/test_detect.sh tests/test_drift_headless.sh doc/DRIFT.md

check_PROGRAMS += tests/test_drift tests/test_kswin tests/test_watch
TESTS += tests/test_drift tests/test_kswin tests/test_watch
tests_test_watch_SOURCES = tests/test_watch.c
tests_test_watch_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_watch_LDADD = $(TEST_LIBS)
tests_test_drift_SOURCES = tests/test_drift.c
tests_test_drift_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_drift_LDADD = $(TEST_LIBS)
tests_test_kswin_SOURCES = tests/test_kswin.c
tests_test_kswin_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_kswin_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_drift_reference
TESTS += tests/test_drift_reference
tests_test_drift_reference_SOURCES = tests/test_drift_reference.c
tests_test_drift_reference_CPPFLAGS = $(TEST_CPPFLAGS) -DDRIFT_DATA_DIR='"$(abs_top_srcdir)/tests/data/drift"'
tests_test_drift_reference_LDADD = $(TEST_LIBS)

# Reference data from River 0.21.0 (see tests/data/drift/README.md).
EXTRA_DIST += tests/data/drift/README.md \
	tests/data/drift/drift_results.json \
	tests/data/drift/drift_results_adwin_postfix.json \
	tests/data/drift/inputs/bernoulli_p02_p08_seed42.txt \
	tests/data/drift/inputs/gauss_mu0_mu3_seed42.txt \
	tests/data/drift/inputs/gauss_stationary_seed7.txt \
	tests/data/drift/inputs/river_adwin_regtest_multi.txt \
	tests/data/drift/inputs/river_doc_streamA.txt \
	tests/data/drift/inputs/river_doc_streamB.txt \
	tests/data/drift/inputs/river_test_ones1000.txt \
	tests/data/drift/inputs/river_test_stream1.txt \
	tests/data/drift/inputs/river_test_stream2.txt \
	tests/data/drift/inputs/river_test_stream3.txt \
	tests/data/drift/inputs/streams_index.json \
	tests/data/drift/traces/adwin_postfix_default__bernoulli_p02_p08_seed42.csv \
	tests/data/drift/traces/adwin_postfix_default__gauss_mu0_mu3_seed42.csv \
	tests/data/drift/traces/kswin_default_seed42__bernoulli_p02_p08_seed42.jsonl \
	tests/data/drift/traces/kswin_default_seed42__gauss_mu0_mu3_seed42.jsonl

DD_BENCHES += bench/bench_drift
bench_bench_drift_SOURCES = bench/bench_drift.c
bench_bench_drift_LDADD = $(CORE_LIBS)
