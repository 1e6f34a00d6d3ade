/*
 * t_notify.c - unit tests for lib/notify.c
 * DESCRIPTION: cmocka cases in a temporary directory (removed at the
 *	end): the command channel (a shell script that saves its argv and
 *	standard input), the mail channel (OG_POSTFIX_BIN names a directory
 *	with a fake sendmail that saves its argv and standard input; the
 *	headers, the quoted-printable body, a subject that tries to inject
 *	a header, an RFC 2047 subject), the webhook (a Python HTTPS server
 *	on 127.0.0.1 with a self-signed certificate made by openssl that
 *	fails the first POST; the same server without the CA file; a
 *	listening socket that never accepts, for the retries and the stop
 *	deadline), a full queue, and bad settings. The webhook cases SKIP
 *	without python3 or openssl. Every wait is bounded.
 * DIAGNOSTICS: TAP through cmocka (CMOCKA_MESSAGE_OUTPUT=TAP).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec.h"
#include "notify.h"
#include "strbuf.h"
#include "util.h"

#define T_WAIT_MS 20000 /* for anything that should end much sooner */

static char *tmpdir;

static const char json1[] = "{\n  \"event\": \"open\",\n  \"incident\": 7,\n"
                            "  \"provider\": \"microsoft-consumer\"\n}";

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* path_of - "TMPDIR/name" (og_free it) */
static char *
path_of(const char *name)
{
	struct og_strbuf sb;

	og_strbuf_init(&sb, 8192);
	assert_int_equal(og_strbuf_addf(&sb, "%s/%s", tmpdir, name), 0);
	return og_strbuf_steal(&sb);
}

/* slurp - the whole file, or NULL when it is missing (og_free it) */
static char *
slurp(const char *name)
{
	struct og_strbuf sb;
	char *path = path_of(name), buf[4096];
	size_t n;
	FILE *f;

	f = fopen(path, "rb");
	og_free(path);
	if (f == NULL)
		return NULL;
	og_strbuf_init(&sb, 16 * 1024 * 1024);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		assert_int_equal(og_strbuf_addn(&sb, buf, n), 0);
	(void)fclose(f);
	if (sb.data == NULL)
		(void)og_strbuf_addn(&sb, "", 0);
	return og_strbuf_steal(&sb);
}

static int
exists(const char *name)
{
	char *path = path_of(name);
	int r = access(path, F_OK) == 0;

	og_free(path);
	return r;
}

/* wait_file - 1 once TMPDIR/name exists, 0 after ms */
static int
wait_file(const char *name, int ms)
{
	int64_t until = now_ms() + ms;

	while (!exists(name))
		if (now_ms() >= until)
			return 0;
		else
			sleep_ms(10);
	return 1;
}

/* put_file - TMPDIR/name with body and mode */
static void
put_file(const char *name, const char *body, mode_t mode)
{
	char *path = path_of(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(body, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	og_free(path);
}

/* put_script - TMPDIR/name, a /bin/sh script; "{T}" in body is TMPDIR */
static void
put_script(const char *name, const char *body)
{
	struct og_strbuf sb;
	const char *p;

	og_strbuf_init(&sb, 0);
	assert_int_equal(og_strbuf_adds(&sb, "#!/bin/sh\n"), 0);
	for (p = body; *p != '\0'; p++)
		if (strncmp(p, "{T}", 3) == 0) {
			assert_int_equal(og_strbuf_adds(&sb, tmpdir), 0);
			p += 2;
		} else
			assert_int_equal(og_strbuf_addc(&sb, *p), 0);
	put_file(name, og_strbuf_str(&sb), 0755);
	og_strbuf_release(&sb);
}

static void
rm_file(const char *name)
{
	char *path = path_of(name);

	(void)unlink(path);
	og_free(path);
}

/* which - the absolute path of an executable on PATH (og_free it) */
static char *
which(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	struct og_strbuf sb;

	og_strbuf_init(&sb, 8192);
	for (p = path; p != NULL && *p != '\0'; p = *e ? e + 1 : e) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		if (e == p || *p != '/')
			continue;
		og_strbuf_reset(&sb);
		if (og_strbuf_addf(&sb, "%.*s/%s", (int)(e - p), p, name) < 0)
			continue;
		if (access(sb.data, X_OK) == 0)
			return og_strbuf_steal(&sb);
	}
	og_strbuf_release(&sb);
	return NULL;
}

/* header - the value of the first header line "name: ", or NULL */
static char *
header(const char *msg, const char *name)
{
	size_t nl = strlen(name);
	const char *p = msg, *e;

	while (*p != '\0' && *p != '\n') {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		if (og_strncasecmp_ascii(p, name, nl) == 0 && p[nl] == ':' &&
		    p[nl + 1] == ' ')
			return og_strndup(p + nl + 2, (size_t)(e - p - nl - 2));
		p = *e ? e + 1 : e;
	}
	return NULL;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* qp_decode - quoted-printable body to bytes; checks line lengths */
static char *
qp_decode(const char *s)
{
	struct og_strbuf sb;
	size_t col = 0;

	og_strbuf_init(&sb, 0);
	(void)og_strbuf_addn(&sb, "", 0);
	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			col = 0;
			(void)og_strbuf_addc(&sb, '\n');
			continue;
		}
		assert_true(++col <= 76);
		if (*s != '=') {
			assert_true(
			    *s == ' ' || *s == '\t' || (*s > 32 && *s < 127));
			(void)og_strbuf_addc(&sb, *s);
		} else if (s[1] == '\n') {
			s++;
			col = 0;
		} else {
			assert_true(hexval(s[1]) >= 0 && hexval(s[2]) >= 0);
			(void)og_strbuf_addc(
			    &sb, hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
			col += 2;
		}
	}
	return og_strbuf_steal(&sb);
}

/* ---- command ---- */

static void
test_command(void **state)
{
	struct og_notify_conf conf;
	struct og_notice nt;
	struct og_notify *n;
	struct og_strbuf cmd;
	char *s;

	(void)state;
	put_script("cmd.sh",
	    "printf '%s\\n' \"$@\" > {T}/cmd.args\n"
	    "cat > {T}/cmd.tmp && mv {T}/cmd.tmp {T}/cmd.in\n");
	put_script("fail.sh", "cat >/dev/null; echo 'no luck' >&2; exit 3\n");
	og_strbuf_init(&cmd, 0);
	assert_int_equal(
	    og_strbuf_addf(&cmd, "  %s/cmd.sh  one\ttwo  $HOME;x  ", tmpdir),
	    0);
	memset(&conf, 0, sizeof(conf));
	conf.command = og_strbuf_str(&cmd);
	assert_non_null(n = og_notify_start(&conf));
	memset(&nt, 0, sizeof(nt));
	nt.event = "open";
	nt.json = json1;
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	assert_non_null(s = slurp("cmd.in"));
	assert_string_equal(s, json1);
	og_free(s);
	/* split on blanks, nothing else: no shell ever saw "$HOME;x" */
	assert_non_null(s = slurp("cmd.args"));
	assert_string_equal(s, "one\ntwo\n$HOME;x\n");
	og_free(s);
	assert_int_equal(og_notify_delivered(n), 1);
	assert_int_equal(og_notify_failures(n), 0);
	og_notify_stop(n);

	/* a non-zero exit status is a counted failure */
	og_strbuf_reset(&cmd);
	assert_int_equal(og_strbuf_addf(&cmd, "%s/fail.sh", tmpdir), 0);
	conf.command = og_strbuf_str(&cmd);
	assert_non_null(n = og_notify_start(&conf));
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	assert_int_equal(og_notify_failures(n), 1);
	assert_int_equal(og_notify_delivered(n), 0);
	og_notify_stop(n);
	og_strbuf_release(&cmd);
}

/* ---- mail ---- */

/* check_mail - the fake sendmail's argv and message; body returned */
static char *
check_mail(const char *subject_want)
{
	char *argv, *msg, *v, *body, *p, day[4];
	struct og_strbuf sb;
	int lines = 0;

	assert_true(wait_file("mail.in", T_WAIT_MS));
	assert_non_null(argv = slurp("mail.args"));
	assert_string_equal(
	    argv, "-i\n-f\noutguard@example.org\n--\nops@example.net\n");
	og_free(argv);
	assert_non_null(msg = slurp("mail.in"));
	assert_non_null(body = strstr(msg, "\n\n"));
	body += 2;
	/* No header line may come from the subject's CR LF. */
	for (p = msg; p < body - 1; p = strchr(p, '\n') + 1) {
		lines++;
		assert_true(og_strncasecmp_ascii(p, "Bcc:", 4) != 0);
		assert_true(og_strncasecmp_ascii(p, "X-Injected", 10) != 0);
		assert_null(memchr(p, '\r', (size_t)(strchr(p, '\n') - p)));
	}
	assert_non_null(v = header(msg, "From"));
	assert_string_equal(v, "outguard@example.org");
	og_free(v);
	assert_non_null(v = header(msg, "To"));
	assert_string_equal(v, "ops@example.net");
	og_free(v);
	assert_non_null(v = header(msg, "Subject"));
	assert_string_equal(v, subject_want);
	og_free(v);
	assert_non_null(v = header(msg, "Auto-Submitted"));
	assert_string_equal(v, "auto-generated");
	og_free(v);
	assert_non_null(v = header(msg, "X-Outguard-Notification"));
	assert_string_equal(v, "incident");
	og_free(v);
	assert_non_null(v = header(msg, "MIME-Version"));
	assert_string_equal(v, "1.0");
	og_free(v);
	assert_non_null(v = header(msg, "Content-Type"));
	assert_string_equal(v, "text/plain; charset=utf-8");
	og_free(v);
	assert_non_null(v = header(msg, "Content-Transfer-Encoding"));
	assert_string_equal(v, "quoted-printable");
	og_free(v);
	/* Date: Mon, 2 Nov 2026 05:00:00 +0000 */
	assert_non_null(v = header(msg, "Date"));
	assert_true(strlen(v) >= 30 && v[3] == ',' && v[4] == ' ');
	memcpy(day, v, 3);
	day[3] = '\0';
	assert_non_null(strstr("Sun Mon Tue Wed Thu Fri Sat", day));
	assert_string_equal(v + strlen(v) - 6, " +0000");
	og_free(v);
	og_strbuf_init(&sb, 0);
	(void)og_strbuf_addf(&sb, ".%ld.", (long)getpid());
	assert_non_null(v = header(msg, "Message-ID"));
	assert_true(v[0] == '<');
	assert_non_null(strstr(v, og_strbuf_str(&sb)));
	assert_string_equal(
	    v + strlen(v) - strlen("@mx.example.org>"), "@mx.example.org>");
	og_free(v);
	og_strbuf_release(&sb);
	assert_int_equal(lines, 10);
	body = qp_decode(body);
	og_free(msg);
	rm_file("mail.in");
	return body;
}

static void
test_mail(void **state)
{
	static const char subj_utf8[] =
	    "Blocage d\xc3\xa9tect\xc3\xa9 \xe2\x80\x94 "
	    "incident 7 \xe2\x80\x94 "
	    "Outlook.com refuse 203.0.113.5";
	struct og_notify_conf conf;
	struct og_strbuf want, longjson;
	struct og_notice nt;
	struct og_notify *n;
	char *body, *msg, *v;
	int i;

	(void)state;
	put_script("sendmail",
	    "printf '%s\\n' \"$@\" > {T}/mail.args\n"
	    "cat > {T}/mail.tmp && mv {T}/mail.tmp {T}/mail.in\n");
	assert_int_equal(setenv("OG_POSTFIX_BIN", tmpdir, 1), 0);
	memset(&conf, 0, sizeof(conf));
	conf.mail_to = "ops@example.net";
	conf.mail_from = "outguard@example.org";
	conf.host = "mx.example.org";
	assert_non_null(n = og_notify_start(&conf));
	memset(&nt, 0, sizeof(nt));
	nt.event = "open";
	nt.subject = "Alert\r\nBcc: x@evil.example\nX-Injected: 1\r";
	nt.text = "Incident 7 opened.\nSee outguard-queue-report summary.";
	nt.json = json1;
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	assert_int_equal(og_notify_delivered(n), 1);
	body = check_mail("Alert Bcc: x@evil.example X-Injected: 1");
	og_strbuf_init(&want, 0);
	(void)og_strbuf_addf(&want, "%s\n\n%s\n", nt.text, json1);
	assert_string_equal(body, og_strbuf_str(&want));
	og_free(body);

	/* long lines, "=", trailing blanks, 8-bit text survive QP */
	og_strbuf_init(&longjson, 0);
	(void)og_strbuf_adds(&longjson, "{\"reply\": \"550 5.7.1 ");
	for (i = 0; i < 40; i++)
		(void)og_strbuf_adds(&longjson, "S3150 a=b \xc3\xa9 ");
	(void)og_strbuf_adds(&longjson, "\"}   ");
	nt.subject = NULL;
	nt.text = NULL;
	nt.json = og_strbuf_str(&longjson);
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	body = check_mail("outguard: incident open");
	og_strbuf_reset(&want);
	(void)og_strbuf_addf(&want, "%s\n", og_strbuf_str(&longjson));
	assert_string_equal(body, og_strbuf_str(&want));
	og_free(body);

	/* a UTF-8 subject is RFC 2047-encoded, folded between words */
	nt.subject = subj_utf8;
	nt.json = json1;
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	assert_true(wait_file("mail.in", T_WAIT_MS));
	assert_non_null(msg = slurp("mail.in"));
	assert_non_null(v = header(msg, "Subject"));
	assert_memory_equal(v, "=?utf-8?B?", 10);
	assert_string_equal(v + strlen(v) - 2, "?=");
	assert_non_null(strstr(msg, "?=\n =?utf-8?B?"));
	og_free(v);
	og_free(msg);
	rm_file("mail.in");
	assert_int_equal(og_notify_delivered(n), 3);
	assert_int_equal(og_notify_failures(n), 0);
	og_notify_stop(n);
	og_strbuf_release(&want);
	og_strbuf_release(&longjson);

	/* a sendmail that fails is counted */
	put_script("sendmail", "cat >/dev/null; exit 75\n");
	assert_non_null(n = og_notify_start(&conf));
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	assert_int_equal(og_notify_failures(n), 1);
	og_notify_stop(n);
	assert_int_equal(unsetenv("OG_POSTFIX_BIN"), 0);
}

/* ---- webhook ---- */

static const char server_py[] =
    "import http.server, os, ssl, sys\n"
    "d, mode = sys.argv[1], sys.argv[2]\n"
    "n = [0]\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_POST(self):\n"
    "        ln = int(self.headers.get('Content-Length', '0'))\n"
    "        body = self.rfile.read(ln)\n"
    "        n[0] += 1\n"
    "        p = os.path.join(d, 'req.%d' % n[0])\n"
    "        with open(p + '.tmp', 'wb') as f:\n"
    "            f.write((self.path + '\\n').encode())\n"
    "            ct = self.headers.get('Content-Type', '')\n"
    "            f.write((ct + '\\n').encode() + body)\n"
    "        os.rename(p + '.tmp', p)\n"
    "        code = 500 if mode == 'flaky' and n[0] == 1 else 200\n"
    "        self.send_response(code)\n"
    "        self.send_header('Content-Length', '3')\n"
    "        self.end_headers()\n"
    "        self.wfile.write(b'ok\\n')\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
    "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "c.load_cert_chain(os.path.join(d, 'cert.pem'),\n"
    "    os.path.join(d, 'key.pem'))\n"
    "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
    "with open(os.path.join(d, 'port.tmp'), 'w') as f:\n"
    "    f.write(str(s.server_address[1]))\n"
    "os.rename(os.path.join(d, 'port.tmp'), os.path.join(d, 'port'))\n"
    "s.serve_forever()\n";

/* make_cert - a self-signed certificate for 127.0.0.1; 0 or -1 */
static int
make_cert(const char *openssl)
{
	char *key = path_of("key.pem"), *cert = path_of("cert.pem");
	const char *argv[] = { openssl, "req", "-x509", "-newkey", "rsa:2048",
		"-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj",
		"/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
		NULL };
	struct og_exec_result res;
	int rc;

	rc = og_exec(argv, NULL, NULL, 0, NULL, NULL, T_WAIT_MS, &res);
	og_free(key);
	og_free(cert);
	return rc == 0 && res.status == 0 ? 0 : -1;
}

/* start_server - the Python HTTPS server in its own process group */
static pid_t
start_server(const char *python, const char *mode, unsigned *port)
{
	unsigned long long v;
	pid_t pid;
	char *s;
	int fd;

	rm_file("port");
	if ((pid = fork()) == 0) {
		(void)setpgid(0, 0);
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			(void)dup2(fd, 0);
			(void)dup2(fd, 1);
		}
		(void)execl(python, python, "-c", server_py, tmpdir, mode,
		    (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	(void)setpgid(pid, pid);
	if (!wait_file("port", T_WAIT_MS))
		fail_msg("the HTTPS server did not start");
	assert_non_null(s = slurp("port"));
	assert_int_equal(og_parse_uint(s, 1, 65535, &v), 0);
	og_free(s);
	*port = (unsigned)v;
	return pid;
}

static void
stop_server(pid_t pid)
{
	int64_t until = now_ms() + 5000;
	int st;

	(void)kill(-pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0)
		if (now_ms() > until) {
			(void)kill(-pid, SIGKILL);
			(void)waitpid(pid, &st, 0);
			break;
		} else
			sleep_ms(10);
}

/* check_req - TMPDIR/req.N: path, content type, then the JSON */
static void
check_req(int i, const char *path)
{
	struct og_strbuf name, want;
	char *s;

	og_strbuf_init(&name, 0);
	og_strbuf_init(&want, 0);
	(void)og_strbuf_addf(&name, "req.%d", i);
	(void)og_strbuf_addf(&want, "%s\napplication/json\n%s", path, json1);
	assert_non_null(s = slurp(og_strbuf_str(&name)));
	assert_string_equal(s, og_strbuf_str(&want));
	og_free(s);
	og_strbuf_release(&name);
	og_strbuf_release(&want);
}

static void
test_webhook_retry(void **state)
{
	char *python = which("python3"), *openssl = which("openssl");
	struct og_notify_conf conf;
	struct og_strbuf url;
	struct og_notice nt;
	struct og_notify *n;
	unsigned port;
	int64_t t0;
	char *ca;
	pid_t pid;

	(void)state;
	if (python == NULL || openssl == NULL) {
		og_free(python);
		og_free(openssl);
		skip();
	}
	if (make_cert(openssl) < 0)
		fail_msg("openssl req failed");
	pid = start_server(python, "flaky", &port);
	og_strbuf_init(&url, 0);
	(void)og_strbuf_addf(
	    &url, "https://127.0.0.1:%u/hook?token=secret", port);
	ca = path_of("cert.pem");
	memset(&conf, 0, sizeof(conf));
	conf.webhook = og_strbuf_str(&url);
	conf.ca_file = ca;
	conf.backoff_ms = 300;
	assert_non_null(n = og_notify_start(&conf));
	memset(&nt, 0, sizeof(nt));
	nt.event = "open";
	nt.json = json1;
	t0 = now_ms();
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	/* 500, then the backoff, then 200: one retry, nothing more */
	assert_true(now_ms() - t0 >= 300);
	assert_int_equal(og_notify_delivered(n), 1);
	assert_int_equal(og_notify_failures(n), 0);
	check_req(1, "/hook?token=secret");
	check_req(2, "/hook?token=secret");
	assert_false(exists("req.3"));
	og_notify_stop(n);

	/* without the CA file the certificate is refused: nothing sent */
	conf.ca_file = NULL;
	conf.backoff_ms = 50;
	assert_non_null(n = og_notify_start(&conf));
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	assert_int_equal(og_notify_failures(n), 1);
	assert_int_equal(og_notify_delivered(n), 0);
	assert_false(exists("req.3"));
	og_notify_stop(n);

	stop_server(pid);
	og_strbuf_release(&url);
	og_free(ca);
	og_free(python);
	og_free(openssl);
}

/* silent_listener - a socket on 127.0.0.1 that never accepts */
static int
silent_listener(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	assert_true((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_webhook_silent(void **state)
{
	struct og_notify_conf conf;
	struct og_strbuf url;
	struct og_notice nt;
	struct og_notify *n;
	int64_t t0, dt;
	unsigned port;
	int fd, i;

	(void)state;
	fd = silent_listener(&port);
	og_strbuf_init(&url, 0);
	(void)og_strbuf_addf(&url, "https://127.0.0.1:%u/", port);
	memset(&conf, 0, sizeof(conf));
	conf.webhook = og_strbuf_str(&url);
	conf.webhook_timeout_ms = 400;
	conf.backoff_ms = 100;
	assert_non_null(n = og_notify_start(&conf));
	memset(&nt, 0, sizeof(nt));
	nt.event = "open";
	nt.json = json1;
	t0 = now_ms();
	assert_int_equal(og_notify_send(n, &nt), 0);
	dt = now_ms() - t0;
	print_message("# send returned after %lld ms\n", (long long)dt);
	assert_true(dt < 100);
	assert_int_equal(og_notify_failures(n), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	/* three attempts of 400 ms with 100 and 200 ms between them */
	dt = now_ms() - t0;
	print_message("# failure counted after %lld ms\n", (long long)dt);
	assert_true(dt >= 3 * 400 + 100 + 200);
	assert_int_equal(og_notify_failures(n), 1);
	assert_int_equal(og_notify_delivered(n), 0);
	og_notify_stop(n);

	/*
	 * Default timeouts (10 s a try) and a 1.5 s stop deadline: the
	 * transfer in flight is cut and the queued events are dropped.
	 */
	conf.webhook_timeout_ms = 0;
	conf.backoff_ms = 0;
	conf.stop_ms = 1500;
	assert_non_null(n = og_notify_start(&conf));
	for (i = 0; i < 3; i++) {
		t0 = now_ms();
		assert_int_equal(og_notify_send(n, &nt), 0);
		assert_true(now_ms() - t0 < 100);
	}
	sleep_ms(200);
	t0 = now_ms();
	og_notify_stop(n);
	dt = now_ms() - t0;
	print_message("# stop returned after %lld ms\n", (long long)dt);
	assert_true(dt >= 1400 && dt < 1500 + 1500);
	og_strbuf_release(&url);
	(void)close(fd);
}

/* ---- the queue ---- */

static void
test_queue_full(void **state)
{
	struct og_notify_conf conf;
	struct og_strbuf cmd, big;
	struct og_notice nt;
	struct og_notify *n;
	int i;

	(void)state;
	rm_file("go");
	rm_file("started");
	put_script("slow.sh",
	    "cat >/dev/null; : > {T}/started\n"
	    "i=0; while [ ! -e {T}/go ] && [ $i -lt 400 ]; do\n"
	    "sleep 0.05; i=$((i+1)); done\n");
	og_strbuf_init(&cmd, 0);
	(void)og_strbuf_addf(&cmd, "%s/slow.sh", tmpdir);
	memset(&conf, 0, sizeof(conf));
	conf.command = og_strbuf_str(&cmd);
	assert_non_null(n = og_notify_start(&conf));
	memset(&nt, 0, sizeof(nt));
	nt.event = "open";
	nt.json = json1;
	/* the first event keeps the thread busy; 64 more fill the queue */
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_true(wait_file("started", T_WAIT_MS));
	for (i = 0; i < OG_NOTIFY_QUEUE_MAX; i++)
		assert_int_equal(og_notify_send(n, &nt), 0);
	errno = 0;
	assert_int_equal(og_notify_send(n, &nt), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(og_notify_send(n, &nt), -1);
	assert_int_equal(og_notify_dropped(n), 2);
	/* the caller still never waits */
	assert_int_equal(og_notify_flush(n, 10), -1);
	assert_int_equal(errno, ETIMEDOUT);
	put_file("go", "", 0644);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS * 3), 0);
	assert_int_equal(og_notify_delivered(n), OG_NOTIFY_QUEUE_MAX + 1);
	assert_int_equal(og_notify_failures(n), 0);
	assert_int_equal(og_notify_dropped(n), 2);

	/* bad events are refused, and counted when they were real ones */
	errno = 0;
	nt.json = NULL;
	assert_int_equal(og_notify_send(n, &nt), -1);
	assert_int_equal(errno, EINVAL);
	og_strbuf_init(&big, OG_NOTIFY_JSON_MAX + 2);
	for (i = 0; i <= OG_NOTIFY_JSON_MAX; i++)
		(void)og_strbuf_addc(&big, ' ');
	nt.json = og_strbuf_str(&big);
	assert_int_equal(og_notify_send(n, &nt), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(og_notify_dropped(n), 3);
	og_strbuf_release(&big);
	og_notify_stop(n);
	og_strbuf_release(&cmd);
}

/* ---- settings ---- */

static void
test_bad_conf(void **state)
{
	static const struct {
		const char *command, *mail_to, *mail_from, *webhook;
	} bad[] = {
		{ "bin/notify", NULL, NULL, NULL },
		{ "notify --json", NULL, NULL, NULL },
		{ "/bin/a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 "
		  "21 22 23 24 25 26 27 28 29 30 31 32",
		    NULL, NULL, NULL },
		{ NULL, "ops@example.net\nBcc: x@example.org", NULL, NULL },
		{ NULL, "a@example.net, b@example.net", NULL, NULL },
		{ NULL, "<ops@example.net>", NULL, NULL },
		{ NULL, "ops@example.net", "me@example.org\r", NULL },
		{ NULL, NULL, NULL, "http://127.0.0.1/hook" },
		{ NULL, NULL, NULL, "ftp://127.0.0.1/hook" },
		{ NULL, NULL, NULL, "127.0.0.1/hook" },
	};
	struct og_notify_conf conf;
	struct og_notice nt;
	struct og_notify *n;
	size_t i;

	(void)state;
	for (i = 0; i < OG_NELEM(bad); i++) {
		memset(&conf, 0, sizeof(conf));
		conf.command = bad[i].command;
		conf.mail_to = bad[i].mail_to;
		conf.mail_from = bad[i].mail_from;
		conf.webhook = bad[i].webhook;
		errno = 0;
		n = og_notify_start(&conf);
		if (n != NULL)
			fail_msg("case %zu was accepted", i);
		assert_int_equal(errno, EINVAL);
	}
	/* no channel at all: events are accepted and go nowhere */
	memset(&conf, 0, sizeof(conf));
	conf.command = "   ";
	conf.webhook = "";
	assert_non_null(n = og_notify_start(&conf));
	memset(&nt, 0, sizeof(nt));
	nt.json = "{}";
	assert_int_equal(og_notify_send(n, &nt), 0);
	assert_int_equal(og_notify_flush(n, T_WAIT_MS), 0);
	assert_int_equal(og_notify_delivered(n), 0);
	assert_int_equal(og_notify_failures(n), 0);
	og_notify_stop(n);
	og_notify_stop(NULL);
	assert_int_equal(og_notify_send(NULL, &nt), -1);
}

/* ---- set-up ---- */

static int
setup_dir(void **state)
{
	const char *base = getenv("TMPDIR");
	struct og_strbuf sb;

	(void)state;
	/* a blank in the path would split notify_command */
	if (base == NULL || base[0] != '/' || strpbrk(base, " \t") != NULL)
		base = "/tmp";
	og_strbuf_init(&sb, 4096);
	(void)og_strbuf_addf(&sb, "%s/t_notify.XXXXXX", base);
	tmpdir = og_strbuf_steal(&sb);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown_dir(void **state)
{
	const char *argv[] = { "/bin/rm", "-rf", tmpdir, NULL };

	(void)state;
	(void)og_exec(argv, NULL, NULL, 0, NULL, NULL, T_WAIT_MS, NULL);
	tmpdir = og_free(tmpdir);
	return 0;
}

int
main(void)
{
	static const char *const proxies[] = { "http_proxy", "https_proxy",
		"HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_webhook_retry),
		cmocka_unit_test(test_webhook_silent),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_bad_conf),
	};
	size_t i;

	/* 127.0.0.1 only, never through a proxy from the environment */
	for (i = 0; i < OG_NELEM(proxies); i++)
		(void)unsetenv(proxies[i]);
	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
