/*
 * fuzz_config.c — libFuzzer target: any bytes as the configuration file
 * (config_load reads it from a memfd, so nothing touches the disk). A
 * success must give a complete configuration; a failure must say where.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rb_error err;
	struct config *cfg;
	char path[64];
	int fd = memfd_create("fuzz.conf", 0);

	if (fd < 0)
		return 0;
	/* The file holds secrets: config_load refuses one open to others. */
	if (fchmod(fd, 0600) < 0 || write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	error_clear(&err);
	cfg = config_load(path, &err);
	if (cfg != NULL) {
		if (cfg->ldap_bind_dn == NULL || cfg->ldap_bind_password == NULL ||
		    cfg->ntenants == 0 || cfg->base_url == NULL ||
		    cfg->default_count > cfg->max_count)
			abort();
		for (size_t i = 0; i < cfg->ntokens; i++)
			if (cfg->tokens[i].tenant == NULL)
				abort();
		config_free(cfg);
	} else if (err.detail[0] == '\0' || strncmp(err.detail, path, strlen(path)) != 0) {
		abort(); /* every error names the file */
	}
	close(fd);
	return 0;
}
