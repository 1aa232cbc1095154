# mk/foundation.mk: sources, tests and benchmarks of this area (included by Makefile.am).
libddcore_a_SOURCES += core/dd.c core/dd.h core/rng.h core/sparse.h core/event.h core/drift.h core/model.h
