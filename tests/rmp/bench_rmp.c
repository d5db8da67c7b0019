/* SPDX-License-Identifier: MIT */
/*
 * RMP benchmark (Meson benchmark(), not a test): one JSON object per line per metric.
 *   rmp.sparse_4tib_4gib_rss  MiB   process RSS after populating 4 GiB in a 4 TiB SPA space
 *   rmp.bytes_per_page        B     entry storage per populated 4 KiB page
 *   rmp.overhead_bytes_per_page B   directory overhead per populated page
 *   rmp.rmpupdate_4k_seq      ops/s
 *   rmp.pvalidate_4k_seq      ops/s
 *   rmp.lookup_random         ops/s
 * The sparse case runs first so that its RSS is the process's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "rmp.h"

#define GIB (1ull << 30)
#define TIB (1ull << 40)
#define ASID 1u

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double rss_mib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;
	if (!f)
		return -1;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (double)res * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static void metric(const char *name, double value, const char *unit)
{
	printf("{\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"}\n", name, value, unit);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void die(const char *what, rmp_result_t r)
{
	fprintf(stderr, "bench_rmp: %s: %s\n", what, rmp_result_to_string(r));
	exit(1);
}

static void make_private_4k(rmp_t *rmp, uint64_t spa, uint64_t bytes)
{
	for (uint64_t a = spa; a < spa + bytes; a += SNP_PAGE_SIZE) {
		rmp_state_t st = {.gpa = a, .asid = ASID, .assigned = true};
		rmp_result_t r = rmp_rmpupdate(rmp, 0, a, &st);
		if (!rmp_ok(r))
			die("rmpupdate", r);
	}
}

int main(void)
{
	/* sparse: 4 GiB of 4K-private pages as 1024 runs of 4 MiB spread over 4 TiB */
	{
		rmp_t *rmp = rmp_new(4 * TIB);
		uint64_t seed = 0x5eed;
		const uint64_t run = 4ull << 20, slots = (4 * TIB) / run;
		unsigned char *used = calloc(slots, 1);
		for (int i = 0; i < 1024; i++) {
			uint64_t slot;
			do
				slot = xorshift(&seed) % slots;
			while (used[slot]);
			used[slot] = 1;
			make_private_4k(rmp, slot * run, run);
		}
		free(used);
		metric("rmp.sparse_4tib_4gib_rss", rss_mib(), "MiB");
		rmp_stats_t s;
		rmp_stats(rmp, &s);
		metric("rmp.bytes_per_page", (double)s.entry_bytes / (double)s.populated_pages, "B");
		metric("rmp.overhead_bytes_per_page",
		       (double)s.overhead_bytes / (double)s.populated_pages, "B");
		rmp_free(rmp);
	}

	const uint64_t mem = 4 * GIB, pages = mem / SNP_PAGE_SIZE;
	rmp_t *rmp = rmp_new(mem);
	double t0 = now();
	make_private_4k(rmp, 0, mem);
	double t1 = now();
	metric("rmp.rmpupdate_4k_seq", (double)pages / (t1 - t0), "ops/s");

	/* validate, then rescind, then validate again: every call changes state (CF=0) */
	const int rounds = 6;
	uint64_t changed = 0;
	t0 = now();
	for (int r = 0; r < rounds; r++) {
		bool validate = (r % 2) == 0;
		for (uint64_t a = 0; a < mem; a += SNP_PAGE_SIZE) {
			rmp_result_t x = rmp_pvalidate(rmp, ASID, 0, a, a, false, validate);
			changed += rmp_ok(x) && !x.cf;
		}
	}
	t1 = now();
	if (changed != rounds * pages) {
		fprintf(stderr, "bench_rmp: %llu of %llu PVALIDATEs changed state\n",
			(unsigned long long)changed, (unsigned long long)(rounds * pages));
		return 1;
	}
	metric("rmp.pvalidate_4k_seq", (double)(rounds * pages) / (t1 - t0), "ops/s");

	uint64_t seed = 42, hits = 0;
	const uint64_t lookups = 20000000;
	rmp_entry_t e;
	t0 = now();
	for (uint64_t i = 0; i < lookups; i++) {
		uint64_t spa = (xorshift(&seed) % pages) << SNP_PAGE_SHIFT;
		rmp_lookup(rmp, spa, &e);
		hits += e.assigned;
	}
	t1 = now();
	if (hits != lookups) {
		fprintf(stderr, "bench_rmp: lookup saw unassigned pages\n");
		return 1;
	}
	metric("rmp.lookup_random", (double)lookups / (t1 - t0), "ops/s");
	rmp_free(rmp);
	return 0;
}
