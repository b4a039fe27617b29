/*
 * engine_bench.c — micro-benchmark of the SCIM engine (no I/O): what one
 * typical request costs in src/engine, apart from HTTP and LDAP.
 *
 *   build/bench/engine_bench [--runs N] [--seconds S] [--only NAME]
 *
 * Benchmarks (inputs are parsed from JSON once, outside the timed loop, as
 * the HTTP layer hands the engine parsed bodies):
 *   filter_parse_match  filter_parse + filter_match + filter_free of
 *                       userName eq "x" and (emails[type eq "work" and
 *                       value co "@lincoln"] or title sw "Prin")
 *                       over a typical User
 *   filter_match        filter_match alone (the tree parsed once)
 *   patch_entra         patch_apply of an Entra-style PatchOp (3 ops:
 *                       Replace active "False", Add emails[type eq
 *                       "work"].value, Replace an enterprise attribute)
 *                       + patch_result_clear
 *   validate_create     validate_resource(VALIDATE_CREATE) of an Entra
 *                       create body + json_decref
 *
 * Each benchmark is calibrated to about S seconds (default 1) per run and
 * run N times (default 5); one line per benchmark on stdout:
 *   engine <name> ns/op <median> (min <a> max <b>)
 * Exit status 1 if an engine call fails (the benchmark would be measuring
 * an error path).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "engine/filter.h"
#include "engine/patch.h"
#include "engine/schema.h"
#include "engine/validate.h"
#include "lib/error.h"

#define BENCH_MAX_RUNS 101

static const char bench_filter_text[] =
    "userName eq \"x\" and (emails[type eq \"work\" and value co \"@lincoln\"] or title sw "
    "\"Prin\")";

static const char bench_user[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
    "\"id\":\"2819c223-7f76-453a-919d-413861904646\",\"externalId\":\"701984\","
    "\"userName\":\"bjensen@lincoln.example\","
    "\"name\":{\"formatted\":\"Ms. Barbara J Jensen III\",\"familyName\":\"Jensen\","
    "\"givenName\":\"Barbara\"},"
    "\"displayName\":\"Babs Jensen\",\"title\":\"Principal\",\"userType\":\"Employee\","
    "\"active\":true,"
    "\"emails\":[{\"value\":\"bjensen@lincoln.example\",\"type\":\"work\",\"primary\":true},"
    "{\"value\":\"babs@jensen.org\",\"type\":\"home\"}],"
    "\"phoneNumbers\":[{\"value\":\"555-555-8377\",\"type\":\"work\"}],"
    "\"addresses\":[{\"type\":\"work\",\"streetAddress\":\"100 Universal City Plaza\","
    "\"locality\":\"Hollywood\",\"region\":\"CA\",\"postalCode\":\"91608\",\"country\":\"USA\"}],"
    "\"groups\":[{\"value\":\"e9e30dba-f08f-4109-8486-d5c6a331660a\",\"display\":\"Tour Guides\"}],"
    "\"meta\":{\"resourceType\":\"User\",\"created\":\"2010-01-23T04:56:22Z\","
    "\"lastModified\":\"2011-05-13T04:42:34Z\",\"version\":\"W/\\\"3694e05e9dff591\\\"\"},"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"701984\","
    "\"department\":\"Tour "
    "Operations\",\"manager\":{\"value\":\"26118915-6090-4610-87e4-49d8ca9f808d\"}}}";

static const char bench_patch[] =
    "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
    "{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"},"
    "{\"op\":\"Add\",\"path\":\"emails[type eq \\\"work\\\"].value\","
    "\"value\":\"barbara.jensen@lincoln.example\"},"
    "{\"op\":\"Replace\",\"path\":"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\","
    "\"value\":\"Admissions\"}]}";

static const char bench_create[] =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
    "\"externalId\":\"7a9d4c1e-55b3-4f0e-9a51-3c2f2d0e8b71\",\"userName\":\"AJones@lincoln."
    "example\","
    "\"active\":true,\"displayName\":\"Alex Jones\",\"title\":\"Teacher\","
    "\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"AJones@lincoln.example\"}],"
    "\"meta\":{\"resourceType\":\"User\"},"
    "\"name\":{\"formatted\":\"Alex Jones\",\"familyName\":\"Jones\",\"givenName\":\"Alex\"},"
    "\"addresses\":[{\"type\":\"work\",\"formatted\":\"1 School Rd\",\"streetAddress\":\"1 School "
    "Rd\","
    "\"locality\":\"Lincoln\",\"region\":\"NE\",\"postalCode\":\"68508\",\"country\":\"US\","
    "\"primary\":false}],"
    "\"phoneNumbers\":[{\"type\":\"work\",\"value\":\"+1 402 555 0100\"},"
    "{\"type\":\"mobile\",\"value\":\"+1 402 555 0101\"}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"1042\","
    "\"department\":\"Science\",\"manager\":{\"value\":\"bd2e7f4a\"}}}";

/* State shared by the benchmark bodies (all set up once in main). */
static const struct resource_type_def *bench_rt;
static json_t *bench_user_json, *bench_patch_json, *bench_create_json;
static struct filter *bench_filter_tree;
static volatile unsigned long bench_sink; /* results go here, so nothing is optimised away */
static bool bench_failed;

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_filter_parse_match(void)
{
	struct rb_error err;
	struct filter *f;

	error_clear(&err);
	f = filter_parse(bench_rt, bench_filter_text, &err);
	if (f == NULL) {
		bench_failed = true;
		return;
	}
	bench_sink += filter_match(f, bench_user_json);
	filter_free(f);
}

static void
bench_filter_match(void)
{
	bench_sink += filter_match(bench_filter_tree, bench_user_json);
}

static void
bench_patch_entra(void)
{
	struct patch_result r;
	struct rb_error err;

	error_clear(&err);
	if (patch_apply(bench_rt, bench_user_json, bench_patch_json, NULL, &r, &err) != PATCH_OK) {
		bench_failed = true;
		return;
	}
	bench_sink += r.changed;
	patch_result_clear(&r);
}

static void
bench_validate_create(void)
{
	struct rb_error err;
	json_t *v;

	error_clear(&err);
	v = validate_resource(bench_rt, bench_create_json, VALIDATE_CREATE, &err);
	if (v == NULL) {
		bench_failed = true;
		return;
	}
	bench_sink += json_object_size(v);
	json_decref(v);
}

struct bench {
	const char *name;
	void (*fn)(void);
};

static const struct bench benches[] = {
    {"filter_parse_match", bench_filter_parse_match},
    {"filter_match", bench_filter_match},
    {"patch_entra", bench_patch_entra},
    {"validate_create", bench_validate_create},
};

static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* bench_run — calibrate fn to `seconds` per run, time `runs` runs, print. */
static void
bench_run(const struct bench *b, int runs, double seconds)
{
	double ns[BENCH_MAX_RUNS], t0, dt = 0, median;
	unsigned long iters = 1, i;
	int r;

	/* calibrate: double the batch until it takes at least 1/10 of a run */
	for (;;) {
		t0 = bench_now();
		for (i = 0; i < iters; i++)
			b->fn();
		dt = bench_now() - t0;
		if (bench_failed || dt >= seconds / 10 || iters > (1UL << 40))
			break;
		iters *= 2;
	}
	if (bench_failed)
		return;
	iters = (unsigned long)((double)iters * seconds / (dt > 0 ? dt : 1e-9)) + 1;
	for (r = 0; r < runs; r++) {
		t0 = bench_now();
		for (i = 0; i < iters; i++)
			b->fn();
		dt = bench_now() - t0;
		ns[r] = dt * 1e9 / (double)iters;
	}
	qsort(ns, (size_t)runs, sizeof(ns[0]), bench_cmp_double);
	median = runs % 2 ? ns[runs / 2] : (ns[runs / 2 - 1] + ns[runs / 2]) / 2;
	printf("engine %s ns/op %.0f (min %.0f max %.0f)\n", b->name, median, ns[0], ns[runs - 1]);
	fflush(stdout);
}

/* bench_arg_number — the number after argv[*i] (advancing *i), or -1. */
static double
bench_arg_number(int argc, char **argv, int *i)
{
	char *end;
	double v;

	if (*i + 1 >= argc)
		return -1;
	v = strtod(argv[++*i], &end);
	return *end == '\0' ? v : -1;
}

int
main(int argc, char **argv)
{
	struct rb_error err;
	const char *only = NULL;
	double seconds = 1.0;
	int runs = 5, i;
	size_t b;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0) {
			double v = bench_arg_number(argc, argv, &i);

			if (v < 1 || v > BENCH_MAX_RUNS) {
				fprintf(stderr, "engine_bench: --runs 1..%d\n", BENCH_MAX_RUNS);
				return 2;
			}
			runs = (int)v;
		} else if (strcmp(argv[i], "--seconds") == 0) {
			seconds = bench_arg_number(argc, argv, &i);
			if (seconds <= 0) {
				fprintf(stderr,
				        "engine_bench: --seconds needs a positive number\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr,
			        "usage: engine_bench [--runs N] [--seconds S] [--only NAME]\n");
			return 2;
		}
	}

	bench_rt = schema_resource_type("User");
	bench_user_json = json_loads(bench_user, 0, NULL);
	bench_patch_json = json_loads(bench_patch, 0, NULL);
	bench_create_json = json_loads(bench_create, 0, NULL);
	error_clear(&err);
	bench_filter_tree = filter_parse(bench_rt, bench_filter_text, &err);
	if (bench_rt == NULL || bench_user_json == NULL || bench_patch_json == NULL ||
	    bench_create_json == NULL || bench_filter_tree == NULL) {
		fprintf(stderr, "engine_bench: setup failed: %s\n", err.detail);
		return 1;
	}
	for (b = 0; b < sizeof(benches) / sizeof(benches[0]); b++) {
		if (only != NULL && strcmp(only, benches[b].name) != 0)
			continue;
		bench_run(&benches[b], runs, seconds);
		if (bench_failed) {
			fprintf(stderr, "engine_bench: %s: the engine call failed\n",
			        benches[b].name);
			return 1;
		}
	}
	filter_free(bench_filter_tree);
	json_decref(bench_user_json);
	json_decref(bench_patch_json);
	json_decref(bench_create_json);
	return 0;
}
