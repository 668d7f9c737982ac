/* The CNXN banner: "device::ro.product.name=X;ro.product.model=Y;ro.product.device=Z;features=..." */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adbd.h"

static const char *const banner_keys[] = {"ro.product.name", "ro.product.model", "ro.product.device"};
#define NKEYS (sizeof banner_keys / sizeof banner_keys[0])

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

char *banner_build(const char *props_path)
{
	char *values[NKEYS] = {0};
	FILE *f = fopen(props_path, "re");
	if (!f) {
		adbd_log("props file %s: %s; the banner names no product", props_path, strerror(errno));
	} else {
		char line[1024];
		while (fgets(line, sizeof line, f)) {
			char *text = trim(line);
			char *eq = strchr(text, '=');
			if (*text == '#' || !eq)
				continue;
			*eq = '\0';
			char *key = trim(text), *value = trim(eq + 1);
			for (size_t i = 0; i < NKEYS; i++) {
				if (strcmp(key, banner_keys[i]) != 0)
					continue;
				/* these characters are the banner's own separators */
				if (strpbrk(value, ":;=")) {
					adbd_log("props: %s=%s dropped: ':', ';' and '=' cannot appear in the banner", key, value);
					break;
				}
				free(values[i]);
				values[i] = strdup(value);
			}
		}
		fclose(f);
	}

	size_t cap = 64 + strlen(ADBD_FEATURES);
	for (size_t i = 0; i < NKEYS; i++)
		cap += strlen(banner_keys[i]) + (values[i] ? strlen(values[i]) : 0) + 2;
	char *banner = malloc(cap);
	if (!banner)
		return NULL;
	size_t len = (size_t)snprintf(banner, cap, "device::");
	for (size_t i = 0; i < NKEYS; i++) {
		if (values[i])
			len += (size_t)snprintf(banner + len, cap - len, "%s=%s;", banner_keys[i], values[i]);
		free(values[i]);
	}
	snprintf(banner + len, cap - len, "features=%s", ADBD_FEATURES);
	return banner;
}
