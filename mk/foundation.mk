# mk/foundation.mk: sources, tests and benchmarks of this area (included by Makefile.am).
libddcore_a_SOURCES += core/dd.c core/dd.h core/rng.h core/sparse.h core/event.h core/drift.h core/model.h
libddsrc_a_SOURCES += src/commands.h src/cmd_run.c src/cmd_gen.c
