/*
 * conf.h - the one configuration file of every outguard program
 * DESCRIPTION: /etc/outguard/outguard.conf holds "name = value" lines in
 *	Postfix main.cf style: '#' starts a comment line, a line that begins
 *	with white space continues the previous one, names are
 *	[a-z0-9_]. The file is parsed through one schema table (confspec.c)
 *	shared by all programs: unknown names, values of the wrong type,
 *	values out of range, duplicate names, tables that cannot be opened
 *	are all errors, each reported as "FILE:LINE: name: reason".
 *	A loaded struct og_conf is immutable and may be shared by threads.
 * DIAGNOSTICS: og_conf_load() returns NULL and appends every error,
 *	one per line, to err. Accessors panic on a name that is not in the
 *	schema or has another type: that is a programming error.
 */
#ifndef OG_CONF_H
#define OG_CONF_H

#include <stdio.h>

struct og_strbuf;
struct og_table;
struct og_conf;

enum og_conf_type {
	OG_CONF_STR, /* free text, optional validator */
	OG_CONF_UINT, /* decimal in [min, max] */
	OG_CONF_BOOL, /* yes/no (true/false, on/off, 1/0) */
	OG_CONF_DURATION, /* 30s 15m 2h 7d 1w, seconds in [min, max] */
	OG_CONF_ENUM, /* one word of choices "a|b|c" */
	OG_CONF_TABLE, /* type:path lookup table, opened at load */
	OG_CONF_LIST, /* words separated by commas and/or white space */
};

struct og_conf_spec {
	const char *name;
	enum og_conf_type type;
	const char *def; /* default, as it would be written */
	unsigned long long min, max; /* UINT, DURATION, LIST (count) */
	const char *choices; /* ENUM words, TABLE types: "a|b" */
	int (*validate)(const char *, struct og_strbuf *);
	const char *doc; /* one line for -n and outguard.conf(5) */
};

#define OG_CONF_LINE_MAX (64 * 1024) /* one logical line */
#define OG_CONF_FILE_MAX (4 * 1024 * 1024)

/* og_conf_schema - the schema rows, ended by a row whose name is NULL */
const struct og_conf_spec *og_conf_schema(void);
/* og_conf_default_path - OG_SYSCONFDIR "/outguard.conf" */
const char *og_conf_default_path(void);

/*
 * og_conf_load - parse path (NULL: the default path). A missing default
 * file is not an error (every setting keeps its default); a missing
 * named file is.
 */
struct og_conf *og_conf_load(const char *path, struct og_strbuf *err);
struct og_conf *og_conf_free(struct og_conf *);
const char *og_conf_path(const struct og_conf *);

/* Typed accessors; strings are borrowed for the life of the conf. */
const char *og_conf_str(const struct og_conf *, const char *name);
unsigned long long og_conf_uint(const struct og_conf *, const char *name);
int og_conf_bool(const struct og_conf *, const char *name);
/* og_conf_table - the opened table, or NULL when the value is empty */
const struct og_table *og_conf_table(const struct og_conf *, const char *);
/* og_conf_list - the words of a LIST (n set), NULL when empty */
const char *const *og_conf_list(
    const struct og_conf *, const char *, size_t *n);
/* og_conf_line - where the value was set, 0 when it is the default */
unsigned og_conf_line(const struct og_conf *, const char *name);

/* og_conf_hostname - myhostname, or the system's host name, into buf */
const char *og_conf_hostname(const struct og_conf *, char *buf, size_t size);

/*
 * og_conf_print - "name = value" for every setting in schema order, as
 * postconf(1) prints them; with only_set, just those the file sets.
 */
void og_conf_print(const struct og_conf *, FILE *, int only_set);

#endif
