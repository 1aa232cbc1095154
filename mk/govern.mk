# mk/govern.mk: sources, tests and benchmarks of this area (included by Makefile.am).
# Governance: the audit log, the registry, the state machine and policy (core),
# the writer thread, the workspace lock, and the audit/rollback/export commands.
libddcore_a_SOURCES += core/audit.c core/audit.h
libddsrc_a_SOURCES += src/workspace.c src/workspace.h src/cmd_audit.c src/cmd_rollback.c \
	src/cmd_export.c src/export.c src/export.h

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

libddcore_a_SOURCES += core/govern.c core/govern.h core/record.c core/record.h \
	core/registry.c core/registry.h
check_PROGRAMS += tests/test_govern tests/test_registry
TESTS += tests/test_govern tests/test_registry
tests_test_govern_SOURCES = tests/test_govern.c
tests_test_govern_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_govern_LDADD = $(TEST_LIBS)
tests_test_registry_SOURCES = tests/test_registry.c
tests_test_registry_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_registry_LDADD = $(TEST_LIBS)

libddcore_a_SOURCES += core/policy.c core/policy.h
check_PROGRAMS += tests/test_policy
TESTS += tests/test_policy
tests_test_policy_SOURCES = tests/test_policy.c
tests_test_policy_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_policy_LDADD = $(TEST_LIBS)

libddsrc_a_SOURCES += src/writer.c src/writer.h src/govern_run.c src/govern_run.h
check_PROGRAMS += tests/test_writer
TESTS += tests/test_writer
tests_test_writer_SOURCES = tests/test_writer.c
tests_test_writer_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_writer_LDADD = $(TEST_LIBS)

libddcore_a_SOURCES += core/governor.c core/governor.h
TESTS += tests/test_govern_e2e.sh
EXTRA_DIST += tests/test_govern_e2e.sh
TESTS += tests/test_resume.sh tests/test_resume_pending.sh
EXTRA_DIST += tests/test_resume.sh tests/test_resume_pending.sh
TESTS += tests/test_export.sh tests/test_report_screenshot.sh
EXTRA_DIST += tests/test_export.sh tests/test_report_screenshot.sh
CLEANFILES += tests/report.png
check_PROGRAMS += tests/test_governor
TESTS += tests/test_governor
tests_test_governor_SOURCES = tests/test_governor.c
tests_test_governor_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_governor_LDADD = $(TEST_LIBS)

DD_BENCHES += bench/bench_govern
bench_bench_govern_SOURCES = bench/bench_govern.c
bench_bench_govern_CPPFLAGS = $(TEST_CPPFLAGS)
bench_bench_govern_LDADD = $(TEST_LIBS)
TESTS += tests/test_console_govern.sh
EXTRA_DIST += tests/test_console_govern.sh
