/*
 * rcpts.h - recipient domains seen per message, from RCPT to END-OF-MESSAGE
 * DESCRIPTION: Postfix sends one policy request per recipient and one at
 *	END-OF-MESSAGE, all with the same "instance". This table counts the
 *	recipient domains per instance so that the message row recorded at
 *	END-OF-MESSAGE says where the mail went ("hotmail.com=3
 *	example.net=1"). Bounded: OG_RCPTS_MAX instances, OG_RCPTS_DOMAINS
 *	domains each (the rest is counted as "other"); entries older than
 *	OG_RCPTS_TTL seconds are dropped.
 */
#ifndef OG_RCPTS_H
#define OG_RCPTS_H

#include <stddef.h>
#include <stdint.h>

struct og_strbuf;
struct og_rcpts;

#define OG_RCPTS_MAX 65536
#define OG_RCPTS_DOMAINS 16
#define OG_RCPTS_TTL 3600

struct og_rcpts *og_rcpts_new(void);
struct og_rcpts *og_rcpts_free(struct og_rcpts *);
void og_rcpts_add(struct og_rcpts *, const char *instance,
    const char *recipient, int64_t now);
/* og_rcpts_take - append the summary of instance to out, forget it */
int og_rcpts_take(
    struct og_rcpts *, const char *instance, struct og_strbuf *out);
void og_rcpts_expire(struct og_rcpts *, int64_t now);
size_t og_rcpts_count(const struct og_rcpts *);

#endif
