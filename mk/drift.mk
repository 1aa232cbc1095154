# mk/drift.mk: sources, tests and benchmarks of this area (included by Makefile.am).
libddcore_a_SOURCES += core/drift.c core/drift_impl.h core/adwin.c core/adwin.h

check_PROGRAMS += tests/test_adwin
TESTS += tests/test_adwin
tests_test_adwin_SOURCES = tests/test_adwin.c
tests_test_adwin_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_adwin_LDADD = $(TEST_LIBS)
