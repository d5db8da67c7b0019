/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz harnesses: the libFuzzer entry points, a byte reader that
 * turns an input into structured choices, and the "finding" trap.
 *
 * Each harness is one LLVMFuzzerTestOneInput. It links with libFuzzer
 * (clang -fsanitize=fuzzer, -Dfuzz=true), with AFL++'s libFuzzer driver
 * (afl-clang-fast -fsanitize=fuzzer), or with replay_main.c, which runs the
 * checked-in corpus under `meson test --suite fuzz` in the ordinary build.
 */
#ifndef SNPSIM_TESTS_FUZZ_H
#define SNPSIM_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * The reader never fails: past the end every read is 0, so any input decodes
 * to something, and a short input decodes to the "all defaults" choice.
 */
typedef struct fz {
	const uint8_t *p;
	size_t n;
} fz_t;

static inline uint8_t fz_u8(fz_t *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(fz_t *f)
{
	uint16_t lo = fz_u8(f);
	return (uint16_t)(lo | (uint16_t)fz_u8(f) << 8);
}

static inline uint32_t fz_u32(fz_t *f)
{
	uint32_t lo = fz_u16(f);
	return lo | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(fz_t *f)
{
	uint64_t lo = fz_u32(f);
	return lo | (uint64_t)fz_u32(f) << 32;
}

/* 0 .. n-1 (n > 0) */
static inline uint32_t fz_below(fz_t *f, uint32_t n)
{
	return n <= 256 ? fz_u8(f) % n : fz_u32(f) % n;
}

static inline bool fz_bool(fz_t *f)
{
	return fz_u8(f) & 1;
}

static inline size_t fz_left(const fz_t *f)
{
	return f->n;
}

/*
 * A finding: say what it was on stderr, then trap, which libFuzzer, AFL++ and
 * the replay main all report as a crash with the input that caused it.
 */
#define FZ_FINDING(...)                                             \
	do {                                                        \
		fprintf(stderr, "fuzz finding: " __VA_ARGS__);      \
		fputc('\n', stderr);                                \
		fflush(stderr);                                     \
		__builtin_trap();                                   \
	} while (0)

/*
 * Where fuzz_pagestate writes the scenario it builds: $SNPSIM_EMIT_SCENARIO.
 * replay_main's --emit-scenario FILE and, under libFuzzer, --emit-scenario=FILE
 * or a replay of one input file (-runs=N FILE: FILE.scenario.json) set it.
 */
#define FZ_EMIT_ENV "SNPSIM_EMIT_SCENARIO"

/*
 * Every execution creates an RMP and three checker ledgers, each of whose
 * first touched leaf is one ~6 MiB calloc (rmp/pagemap.c). glibc's dynamic
 * mmap threshold rises to that size after the first free, so from the second
 * execution on those callocs come from the heap and are memset: 24 MiB per
 * execution, most of its time. A fixed threshold keeps them fresh mmap'ed zero
 * pages, of which an execution touches a few. (No effect under ASan, whose
 * allocator maps large blocks itself.)
 */
#if defined(__GLIBC__)
#include <malloc.h>
static inline void fz_tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
}
#else
static inline void fz_tune_malloc(void)
{
}
#endif

#endif /* SNPSIM_TESTS_FUZZ_H */
