/* Minimal JSON writing for the device programs' summaries and headers. */
#ifndef ZLAB_JSON_OUT_H
#define ZLAB_JSON_OUT_H

#include <stdio.h>

static inline void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

#endif
