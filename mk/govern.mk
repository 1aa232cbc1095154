# mk/govern.mk: sources, tests and benchmarks of this area (included by Makefile.am).
# Governance: the audit log, the registry, the state machine and policy (core),
# the writer thread, the workspace lock, and the audit/rollback/export commands.
libddcore_a_SOURCES += core/audit.c core/audit.h
libddsrc_a_SOURCES += src/workspace.c src/workspace.h src/cmd_audit.c

check_PROGRAMS += tests/test_audit tests/audit_fill
TESTS += tests/test_audit
tests_test_audit_SOURCES = tests/test_audit.c
tests_test_audit_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_audit_LDADD = $(TEST_LIBS)
tests_audit_fill_SOURCES = tests/audit_fill.c
tests_audit_fill_CPPFLAGS = $(TEST_CPPFLAGS)
tests_audit_fill_LDADD = $(TEST_LIBS)

TESTS += tests/test_audit_verify.sh
EXTRA_DIST += tests/test_audit_verify.sh
