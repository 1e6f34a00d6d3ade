/*
 * rcpts.c - recipient domains seen per message instance
 * DESCRIPTION: an open-addressing table keyed by instance with
 *	tombstones; a full table first expires old entries, then refuses
 *	new ones (the message row then simply has no summary).
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "rcpts.h"
#include "strbuf.h"
#include "util.h"

#define INSTANCE_MAX 64
#define DOMAIN_MAX 255
#define NSLOTS (OG_RCPTS_MAX * 2)

struct dom {
	char name[DOMAIN_MAX + 1];
	unsigned count;
};

struct entry {
	char instance[INSTANCE_MAX + 1];
	int64_t seen;
	struct dom doms[OG_RCPTS_DOMAINS];
	size_t ndoms;
	unsigned other;
};

/* A slot is NULL (empty), TOMB (deleted) or a live entry. */
static struct entry tomb_entry;
#define TOMB (&tomb_entry)

struct og_rcpts {
	struct entry **slots;
	size_t live;
	size_t tombs;
};

static size_t
hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 ^ (unsigned char)*s++;
	return h;
}

struct og_rcpts *
og_rcpts_new(void)
{
	struct og_rcpts *r = og_calloc(1, sizeof(*r));

	r->slots = og_calloc(NSLOTS, sizeof(*r->slots));
	return r;
}

struct og_rcpts *
og_rcpts_free(struct og_rcpts *r)
{
	size_t s;

	if (r == NULL)
		return NULL;
	for (s = 0; s < NSLOTS; s++)
		if (r->slots[s] != NULL && r->slots[s] != TOMB)
			og_free(r->slots[s]);
	og_free(r->slots);
	return og_free(r);
}

size_t
og_rcpts_count(const struct og_rcpts *r)
{
	return r->live;
}

/* find - the live entry of instance, or (create) a free slot for it */
static struct entry *
find(struct og_rcpts *r, const char *instance, int create)
{
	size_t s = hash(instance) % NSLOTS, n, free_slot = NSLOTS;
	struct entry *e;

	for (n = 0; n < NSLOTS; n++, s = (s + 1) % NSLOTS) {
		e = r->slots[s];
		if (e == NULL)
			break;
		if (e == TOMB) {
			if (free_slot == NSLOTS)
				free_slot = s;
			continue;
		}
		if (strcmp(e->instance, instance) == 0)
			return e;
	}
	if (!create || r->live >= OG_RCPTS_MAX)
		return NULL;
	if (free_slot == NSLOTS) {
		if (n == NSLOTS)
			return NULL;
		free_slot = s;
	}
	e = og_calloc(1, sizeof(*e));
	og_strlcpy(e->instance, instance, sizeof(e->instance));
	if (r->slots[free_slot] == TOMB)
		r->tombs--;
	r->slots[free_slot] = e;
	r->live++;
	return e;
}

/* remove_entry - free e and leave a tombstone in its slot */
static void
remove_entry(struct og_rcpts *r, struct entry *e)
{
	size_t s = hash(e->instance) % NSLOTS;

	while (r->slots[s] != e)
		s = (s + 1) % NSLOTS;
	r->slots[s] = TOMB;
	og_free(e);
	r->live--;
	r->tombs++;
}

/*
 * rebuild - reinsert the live entries into a clean table: tombstones
 * would otherwise lengthen every probe until each one scans the table
 */
static void
rebuild(struct og_rcpts *r)
{
	struct entry **old = r->slots;
	size_t s;

	r->slots = og_calloc(NSLOTS, sizeof(*r->slots));
	for (s = 0; s < NSLOTS; s++) {
		struct entry *e = old[s];
		size_t t;

		if (e == NULL || e == TOMB)
			continue;
		for (t = hash(e->instance) % NSLOTS; r->slots[t] != NULL;
		     t = (t + 1) % NSLOTS)
			;
		r->slots[t] = e;
	}
	og_free(old);
	r->tombs = 0;
}

void
og_rcpts_add(
    struct og_rcpts *r, const char *instance, const char *rcpt, int64_t now)
{
	const char *at = strrchr(rcpt, '@');
	struct entry *e;
	char dom[DOMAIN_MAX + 1];
	size_t i;

	if (*instance == '\0' || strlen(instance) > INSTANCE_MAX ||
	    at == NULL || strlen(at + 1) == 0 || strlen(at + 1) > DOMAIN_MAX)
		return;
	og_strlcpy(dom, at + 1, sizeof(dom));
	og_lowercase(dom);
	if ((e = find(r, instance, 1)) == NULL) {
		og_rcpts_expire(r, now);
		if ((e = find(r, instance, 1)) == NULL)
			return;
	}
	e->seen = now;
	for (i = 0; i < e->ndoms; i++)
		if (strcmp(e->doms[i].name, dom) == 0) {
			e->doms[i].count++;
			return;
		}
	if (e->ndoms == OG_RCPTS_DOMAINS) {
		e->other++;
		return;
	}
	og_strlcpy(e->doms[e->ndoms].name, dom, DOMAIN_MAX + 1);
	e->doms[e->ndoms++].count = 1;
}

int
og_rcpts_take(struct og_rcpts *r, const char *instance, struct og_strbuf *out)
{
	struct entry *e;
	size_t i;

	if (*instance == '\0' || strlen(instance) > INSTANCE_MAX ||
	    (e = find(r, instance, 0)) == NULL)
		return OG_NOTFOUND;
	for (i = 0; i < e->ndoms; i++)
		(void)og_strbuf_addf(out, "%s%s=%u", i ? " " : "",
		    e->doms[i].name, e->doms[i].count);
	if (e->other > 0)
		(void)og_strbuf_addf(out, " *=%u", e->other);
	remove_entry(r, e);
	if (r->tombs > NSLOTS / 4)
		rebuild(r);
	return OG_FOUND;
}

void
og_rcpts_expire(struct og_rcpts *r, int64_t now)
{
	size_t s;

	for (s = 0; s < NSLOTS; s++) {
		struct entry *e = r->slots[s];

		if (e != NULL && e != TOMB && now - e->seen > OG_RCPTS_TTL) {
			og_free(e);
			r->slots[s] = TOMB;
			r->live--;
			r->tombs++;
		}
	}
	if (r->tombs > NSLOTS / 8)
		rebuild(r);
}
