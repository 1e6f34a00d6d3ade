/*
 * fuzz_postqueue.c - fuzz target for the postqueue -j parser
 * DESCRIPTION: feeds the input, as it is, to og_pq_parse() with a
 *	callback that reads every field of every message and recipient (so
 *	that ASan sees any dangling or unterminated string) and checks the
 *	parser's promises: the queue id passes og_queue_id_valid(), the
 *	queue name is [a-z]+, counts are not negative, at most
 *	OG_PQ_RCPTS_MAX recipients, and the statistics add up. A broken
 *	promise aborts, so the fuzzer reports it as a crash. The input is
 *	also parsed a second time, stopped at the first message, which must
 *	return the callback's value. Deterministic; everything is freed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postqueue.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct tally {
	size_t bytes;
	unsigned long messages;
};

static int
touch(const struct og_pq_msg *m, void *arg)
{
	struct tally *t = arg;
	const char *p;
	size_t i;

	if (!og_queue_id_valid(m->queue_id))
		abort();
	if (m->queue_name[0] == '\0')
		abort();
	for (p = m->queue_name; *p != '\0'; p++)
		if (*p < 'a' || *p > 'z')
			abort();
	if (m->arrival_time < 0 || m->message_size < 0)
		abort();
	if (m->forced_expire != 0 && m->forced_expire != 1)
		abort();
	if (m->nrcpts > OG_PQ_RCPTS_MAX || (m->nrcpts > 0 && m->rcpts == NULL))
		abort();
	if (m->truncated && m->nrcpts != OG_PQ_RCPTS_MAX)
		abort();
	t->bytes += strlen(m->sender) + strlen(m->queue_id);
	for (i = 0; i < m->nrcpts; i++) {
		t->bytes += strlen(m->rcpts[i].address);
		if (m->rcpts[i].delay_reason != NULL)
			t->bytes += strlen(m->rcpts[i].delay_reason);
	}
	t->messages++;
	return 0;
}

static int
stop_first(const struct og_pq_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	return 42;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_pq_stats st;
	struct tally t;
	int rc;

	memset(&t, 0, sizeof(t));
	if (og_pq_parse((const char *)data, size, touch, &t, &st) != 0)
		abort();
	if (st.messages != t.messages ||
	    st.lines != st.messages + st.bad_lines + st.long_lines)
		abort();
	rc = og_pq_parse((const char *)data, size, stop_first, NULL, &st);
	if (rc != (t.messages > 0 ? 42 : 0))
		abort();
	if (rc == 42 && st.messages != 1)
		abort();
	return 0;
}
