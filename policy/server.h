/*
 * server.h - outguard-policyd's listeners and connections
 * DESCRIPTION: one thread, one epoll loop over the listening sockets
 *	and every client connection, each with bounded input and output
 *	buffers, so that a slow or silent client never stalls the others.
 *	og_server_listen() opens "unix:PATH" or "inet:HOST:PORT"; with -s
 *	the loop serves standard input and output as one connection.
 */
#ifndef OG_SERVER_H
#define OG_SERVER_H

#include <stddef.h>

struct og_strbuf;
struct policyd;

/* what a connection speaks */
enum og_proto {
	OG_PROTO_POLICY, /* Postfix policy delegation (SMTPD_POLICY_README) */
	OG_PROTO_SOCKETMAP /* socketmap_table(5): the status filter */
};

struct og_listener {
	int fd;
	enum og_proto proto;
};

/* og_server_listen - a listening socket for spec, or -1 with err */
int og_server_listen(const char *spec, struct og_strbuf *err);
/* og_server_block_signals - before any thread: signals go to the loop */
void og_server_block_signals(void);
/*
 * og_server_run - serve until SIGTERM/SIGINT (or, with fd_in >= 0, the
 * end of that one connection); SIGHUP calls pd's reload hook
 */
int og_server_run(struct policyd *, const struct og_listener *, size_t n,
    int fd_in, int fd_out, enum og_proto stdio_proto);

#endif
