# mk/reliability.mk: sources, tests and benchmarks of this area (included by Makefile.am).
# soak: limits, faults, security and long-stream tests (issue 10, reliability engineer).
TESTS += tests/test_limits.sh
EXTRA_DIST += tests/test_limits.sh
TESTS += tests/test_faults.sh
EXTRA_DIST += tests/test_faults.sh
