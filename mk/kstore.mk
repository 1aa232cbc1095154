# mk/kstore.mk: sources, tests and benchmarks of this area (included by Makefile.am).
# The knowledge store: embeddings (core/embed), the hnswlib wrapper (the only
# C++ file, src/vindex.cpp), the store with its indexer thread, search.
# src/vindex.cpp is C++: anything linking libddsrc.a (config.c refers to the
# store's parameters) needs the C++ runtime, whichever linker automake picks.
SRC_LIBS += -lstdc++

libddcore_a_SOURCES += core/embed.c core/embed.h
libddsrc_a_SOURCES += src/vindex.cpp src/vindex.h src/kstore.c src/kstore.h src/kstore_feed.c src/kstore_feed.h src/cmd_search.c src/http_search.c src/http_search.h
libddsrc_a_SOURCES += src/kfilter.c src/kfilter.h src/kswire.c src/kswire.h
EXTRA_DIST += tests/vecgen.h doc/KSTORE.md

check_PROGRAMS += tests/test_vindex
TESTS += tests/test_vindex
tests_test_vindex_SOURCES = tests/test_vindex.c
tests_test_vindex_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_vindex_LDADD = $(TEST_LIBS)
nodist_EXTRA_tests_test_vindex_SOURCES = dummy.cxx

check_PROGRAMS += tests/test_embed
TESTS += tests/test_embed
tests_test_embed_SOURCES = tests/test_embed.c
tests_test_embed_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_embed_LDADD = $(TEST_LIBS)
nodist_EXTRA_tests_test_embed_SOURCES = dummy.cxx

check_PROGRAMS += tests/test_kstore
TESTS += tests/test_kstore
tests_test_kstore_SOURCES = tests/test_kstore.c
tests_test_kstore_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_kstore_LDADD = $(TEST_LIBS)
nodist_EXTRA_tests_test_kstore_SOURCES = dummy.cxx

TESTS += tests/test_kstore_http.sh
EXTRA_DIST += tests/test_kstore_http.sh

TESTS += tests/test_kstore_mlp.sh
EXTRA_DIST += tests/test_kstore_mlp.sh

# In a --enable-tsan build, hnswlib's internal lock order is suppressed (see
# the file); other TSAN_OPTIONS the caller sets are kept.
EXTRA_DIST += tests/tsan.supp
AM_TESTS_ENVIRONMENT += TSAN_OPTIONS="suppressions=$(abs_top_srcdir)/tests/tsan.supp $${TSAN_OPTIONS:-}"; \
	export TSAN_OPTIONS;

DD_BENCHES += bench/bench_kstore
bench_bench_kstore_SOURCES = bench/bench_kstore.c
bench_bench_kstore_CPPFLAGS = $(TEST_CPPFLAGS)
bench_bench_kstore_LDADD = $(SRC_LIBS)
nodist_EXTRA_bench_bench_kstore_SOURCES = dummy.cxx

TESTS += tests/test_kstore_console.sh
EXTRA_DIST += tests/test_kstore_console.sh

# the `s` search of an attached console, over the control socket (kswire)
TESTS += tests/test_kstore_attach.sh
EXTRA_DIST += tests/test_kstore_attach.sh
check_PROGRAMS += tests/test_kswire
TESTS += tests/test_kswire
tests_test_kswire_SOURCES = tests/test_kswire.c
tests_test_kswire_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_kswire_LDADD = $(TEST_LIBS)
nodist_EXTRA_tests_test_kswire_SOURCES = dummy.cxx

check_PROGRAMS += tests/test_kfilter
TESTS += tests/test_kfilter
tests_test_kfilter_SOURCES = tests/test_kfilter.c
tests_test_kfilter_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_kfilter_LDADD = $(TEST_LIBS)
nodist_EXTRA_tests_test_kfilter_SOURCES = dummy.cxx
