# mk/govern.mk: sources, tests and benchmarks of this area (included by Makefile.am).
