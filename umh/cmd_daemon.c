// SPDX-License-Identifier: GPL-2.0
/*
 * nft-jit daemon: the command line and the supervisor.  It forks one
 * worker (daemon.c) per network namespace, restarts crashed ones with a
 * backoff, follows /run/netns with inotify (--all-netns) and stops them
 * all on SIGTERM.  docs/daemon.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "kctl.h"
#include "state.h"

#define NETNS_DIR	"/run/netns"
#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	60000
#define STABLE_MS	60000	/* a worker that ran this long: backoff reset */
#define STOP_GRACE_MS	10000	/* SIGTERM, then SIGKILL */

static const char usage[] =
"Usage: nft-jit daemon [-n NETNS]... [--all-netns] [--foreground]\n"
"                      [--state-dir DIR] [-v]\n"
"\n"
"Keep the ruleset JIT-compiled while administrators change it with nft.\n"
"The daemon listens to nf_tables' events; after every commit it reads\n"
"the ruleset and compiles every base chain of the ip, ip6 and inet\n"
"tables that the kernel part runs no program for (the chains the commit\n"
"changed, the chains jumping into them, new chains), loads the programs\n"
"and attaches them, bound to the ruleset generation they were compiled\n"
"from.  Chains it cannot compile stay with the interpreter, with the\n"
"reason; they are tried again when a commit changes their table.\n"
"\n"
"A commit that lands while a chain is being compiled makes the kernel\n"
"refuse the attach (ESTALE): the daemon reads the ruleset again and\n"
"starts over.  Lost events (ENOBUFS) lead to a full resync.\n"
"\n"
"One worker process runs per network namespace: the daemon's own one,\n"
"or those named with -n, or with --all-netns its own and every\n"
"/run/netns entry, as they come and go.  A worker that crashes is\n"
"restarted (after 1 s, then up to 60 s).  After each pass a worker\n"
"writes DIR/netns-INODE.json, which `nft-jit status` reads.\n"
"\n"
"Without --foreground the daemon logs to syslog (facility daemon) and\n"
"goes to the background once every namespace had its first pass, so\n"
"`nft-jit daemon && nft-jit status` shows the result.  SIGTERM or\n"
"SIGINT stop it: the programs stay attached (each is bound to its\n"
"generation, and the first commit that changes its chains detaches\n"
"it); the state files are removed.\n"
"\n"
"It needs the kernel part (nf_tables built with the JIT), CAP_NET_ADMIN\n"
"and CAP_SYS_ADMIN (BPF).\n"
"\n"
"  -n, --netns NETNS    watch network namespace NETNS (a /run/netns name\n"
"                       or a path); repeatable\n"
"  -a, --all-netns      watch the daemon's own network namespace and all\n"
"                       of /run/netns, following additions and removals\n"
"  -f, --foreground     stay in the foreground and log to stderr\n"
"  -s, --state-dir DIR  state files in DIR (default: $NFTJ_STATE_DIR, or\n"
"                       " NFTJ_STATE_DIR ")\n"
"  -v, --verbose        log every event and pass, not only changes\n"
"\n"
"Testing only: NFTJ_FAULT_VERIFIER=CHAIN makes the verifier reject the\n"
"programs of base chains named CHAIN; NFTJ_FAULT_COMPILE_DELAY_MS=N waits\n"
"N ms before each attach.\n"
"\n"
"Exit status: 0 stopped by SIGTERM or SIGINT, 1 failure at startup\n"
"(kernel part not loaded, no such network namespace, a worker failing\n"
"before its first pass), 2 usage.\n";

struct sworker {
	char *name;			/* NULL: the daemon's own netns */
	char *tag;			/* label(): "netns NAME", "own netns" */
	pid_t pid;			/* 0: not running */
	bool wanted;			/* its netns exists: keep it running */
	bool explicit;			/* own or -n: a startup failure is fatal */
	bool waited;			/* detaching waits for its first pass */
	unsigned int backoff_ms;
	ino_t ino;			/* of its netns when started, or 0 */
	double start_at;		/* monotonic ms; 0: not scheduled */
	double started;
};

struct sup {
	struct nftj_dopts o;
	bool all_netns;
	struct sworker *w;
	size_t n, cap;
	pid_t pid;
	int sig_fd, ino_fd;
	int ready_rd, ready_wr;		/* workers' first passes */
	int notify_fd;			/* the process waiting to exit, or -1 */
	bool stopping, failed;
	double kill_at;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* "netns NAME" or "own netns", as the workers' lines start */
static const char *label(const struct sworker *w)
{
	return w->tag;
}

static struct sworker *sworker_find(struct sup *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if ((!name && !s->w[i].name) ||
		    (name && s->w[i].name && !strcmp(name, s->w[i].name)))
			return &s->w[i];
	return NULL;
}

static struct sworker *sworker_add(struct sup *s, const char *name)
{
	struct sworker *w = sworker_find(s, name);

	if (w)
		return w;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;

		w = realloc(s->w, cap * sizeof(*w));
		if (!w)
			return NULL;
		s->w = w;
		s->cap = cap;
	}
	w = &s->w[s->n];
	memset(w, 0, sizeof(*w));
	if (name) {
		w->name = strdup(name);
		if (!w->name || asprintf(&w->tag, "netns %s", name) < 0) {
			free(w->name);
			return NULL;
		}
	} else {
		w->tag = strdup("own netns");
		if (!w->tag)
			return NULL;
	}
	s->n++;
	return w;
}

static ino_t netns_ino(const char *name)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s%s", !name ? "/proc/self/ns/net" :
		 strchr(name, '/') ? "" : NETNS_DIR "/", name ? name : "");
	return stat(path, &sb) < 0 ? 0 : sb.st_ino;
}

/* another running worker has the netns: a second name for it */
static const struct sworker *alias_of(const struct sup *s,
				      const struct sworker *w)
{
	size_t i;

	for (i = 0; w->ino && i < s->n; i++)
		if (&s->w[i] != w && s->w[i].pid && s->w[i].ino == w->ino)
			return &s->w[i];
	return NULL;
}

static void spawn(struct sup *s, struct sworker *w)
{
	const struct sworker *other;
	sigset_t ss;
	pid_t pid;

	w->start_at = 0;
	w->ino = netns_ino(w->name);
	other = alias_of(s, w);
	if (other) {
		nftj_dlog(&s->o, LOG_INFO, "%s: the same network namespace as %s, watched already",
			  label(w), label(other));
		w->waited = false;
		return;
	}
	pid = fork();
	if (pid < 0) {
		nftj_dlog(&s->o, LOG_ERR, "%s: fork: %s", label(w),
			  strerror(errno));
		w->start_at = now_ms() + BACKOFF_MAX_MS;
		return;
	}
	if (pid) {
		w->pid = pid;
		w->started = now_ms();
		nftj_dlog(&s->o, LOG_DEBUG, "%s: worker pid %d",
			  label(w), (int)pid);
		return;
	}
	/* the worker: dies with the supervisor */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != s->pid)
		_exit(0);
	close(s->sig_fd);
	close(s->ready_rd);
	if (s->ino_fd >= 0)
		close(s->ino_fd);
	if (s->notify_fd >= 0)
		close(s->notify_fd);
	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &ss, NULL);
	_exit(nftj_worker_run(w->name, &s->o, s->ready_wr));
}

static bool all_ready(const struct sup *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->w[i].waited)
			return false;
	return true;
}

/* every namespace had its first pass: the waiting process may exit */
static void detach(struct sup *s)
{
	char c = s->failed ? '1' : '0';
	int fd;

	if (s->notify_fd < 0 || !all_ready(s))
		return;
	if (write(s->notify_fd, &c, 1) < 0)
		nftj_dlog(&s->o, LOG_DEBUG, "notify: %s", strerror(errno));
	close(s->notify_fd);
	s->notify_fd = -1;
	s->o.errors_to_stderr = false;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static void stop_all(struct sup *s, int sig)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->w[i].pid)
			kill(s->w[i].pid, sig);
}

static void stop(struct sup *s, const char *why)
{
	if (s->stopping)
		return;
	nftj_dlog(&s->o, LOG_INFO, "stopping (%s): attached programs stay",
		  why);
	s->stopping = true;
	s->kill_at = now_ms() + STOP_GRACE_MS;
	stop_all(s, SIGTERM);
}

static void reaped(struct sup *s, struct sworker *w, int status)
{
	char how[64];
	double ran = now_ms() - w->started;
	bool first = w->waited;

	w->pid = 0;
	w->waited = false;
	if (s->stopping)
		return;
	if (!w->wanted) {
		nftj_dlog(&s->o, LOG_INFO, "%s: removed, worker stopped",
			  label(w));
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == NFTJ_WORKER_BUSY)
		snprintf(how, sizeof(how), "another nft-jit daemon watches it");
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "worker killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "worker exited with status %d",
			 WEXITSTATUS(status));
	if (first && w->explicit &&
	    !(WIFEXITED(status) && !WEXITSTATUS(status))) {
		nftj_dlog(&s->o, LOG_ERR, "%s: %s%s", label(w), how,
			  WIFEXITED(status) && WEXITSTATUS(status) ==
			  NFTJ_WORKER_BUSY ? "" : " before its first pass");
		s->failed = true;
		stop(s, "startup failure");
		return;
	}
	if (WIFEXITED(status) && (WEXITSTATUS(status) == NFTJ_WORKER_GONE ||
				  WEXITSTATUS(status) == NFTJ_WORKER_BUSY)) {
		nftj_dlog(&s->o, LOG_DEBUG, "%s: %s", label(w), how);
		return;
	}
	if (ran >= STABLE_MS)
		w->backoff_ms = 0;
	w->backoff_ms = w->backoff_ms ? 2 * w->backoff_ms : BACKOFF_MIN_MS;
	if (w->backoff_ms > BACKOFF_MAX_MS)
		w->backoff_ms = BACKOFF_MAX_MS;
	w->start_at = now_ms() + w->backoff_ms;
	nftj_dlog(&s->o, LOG_WARNING, "%s: %s: restarting in %u s",
		  label(w), how, w->backoff_ms / 1000);
}

static void reap(struct sup *s)
{
	int status;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < s->n; i++)
			if (s->w[i].pid == pid)
				reaped(s, &s->w[i], status);
}

static void on_signal(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else
			stop(s, strsignal((int)si.ssi_signo));
	}
}

static void on_ready(struct sup *s)
{
	pid_t pid;
	size_t i;

	while (read(s->ready_rd, &pid, sizeof(pid)) == sizeof(pid))
		for (i = 0; i < s->n; i++)
			if (s->w[i].pid == pid)
				s->w[i].waited = false;
}

/* a /run/netns entry appeared (present) or went away */
static void netns_event(struct sup *s, const char *name, bool present)
{
	struct sworker *w = sworker_find(s, name);

	if (name[0] == '.')
		return;
	if (!w && (!present || !s->all_netns))
		return;
	if (!w)
		w = sworker_add(s, name);
	if (!w)
		return;
	if (present && !w->wanted) {
		nftj_dlog(&s->o, LOG_DEBUG, "netns %s: added", name);
		w->wanted = true;
		w->backoff_ms = 0;
		if (!w->pid && !s->stopping)
			w->start_at = now_ms();
	} else if (!present && w->wanted) {
		w->wanted = false;
		w->start_at = 0;
		if (w->pid) {
			nftj_dlog(&s->o, LOG_INFO,
				  "netns %s: removed, stopping its worker",
				  name);
			kill(w->pid, SIGTERM);
		}
	}
}

static void scan_netns(struct sup *s)
{
	struct dirent *de;
	struct stat sb;
	char path[PATH_MAX];
	size_t i;
	DIR *d;

	d = opendir(NETNS_DIR);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			netns_event(s, de->d_name, true);
	if (d)
		closedir(d);
	/* names gone while events were lost */
	for (i = 0; i < s->n; i++) {
		if (!s->w[i].name || strchr(s->w[i].name, '/') ||
		    !s->w[i].wanted)
			continue;
		snprintf(path, sizeof(path), NETNS_DIR "/%s", s->w[i].name);
		if (stat(path, &sb) < 0 && errno == ENOENT)
			netns_event(s, s->w[i].name, false);
	}
}

static void on_inotify(struct sup *s)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	while ((n = read(s->ino_fd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				scan_netns(s);
			if (!ev->len)
				continue;
			if (ev->mask & (IN_CREATE | IN_MOVED_TO))
				netns_event(s, ev->name, true);
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				netns_event(s, ev->name, false);
		}
	}
}

static bool any_running(const struct sup *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->w[i].pid)
			return true;
	return false;
}

/* next timer (a scheduled start, the stop grace), as a poll timeout */
static int next_timeout(const struct sup *s)
{
	double next = 0, t = now_ms();
	size_t i;

	if (s->stopping)
		next = s->kill_at;
	for (i = 0; !s->stopping && i < s->n; i++)
		if (s->w[i].start_at && (!next || s->w[i].start_at < next))
			next = s->w[i].start_at;
	if (!next)
		return -1;
	return next <= t ? 0 : (int)(next - t) + 1;
}

static int supervise(struct sup *s)
{
	struct pollfd p[3];
	size_t i;

	for (;;) {
		if (s->stopping && !any_running(s))
			break;
		if (s->stopping && now_ms() >= s->kill_at) {
			stop_all(s, SIGKILL);
			s->kill_at = now_ms() + STOP_GRACE_MS;
		}
		for (i = 0; !s->stopping && i < s->n; i++)
			if (s->w[i].start_at && s->w[i].wanted &&
			    !s->w[i].pid && s->w[i].start_at <= now_ms())
				spawn(s, &s->w[i]);
		detach(s);
		p[0] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = s->ready_rd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = s->ino_fd, .events = POLLIN };
		if (poll(p, s->ino_fd >= 0 ? 3 : 2, next_timeout(s)) < 0 &&
		    errno != EINTR) {
			nftj_dlog(&s->o, LOG_ERR, "poll: %s", strerror(errno));
			stop(s, "error");
			s->failed = true;
		}
		if (p[1].revents & POLLIN)
			on_ready(s);
		if (s->ino_fd >= 0 && (p[2].revents & POLLIN))
			on_inotify(s);
		if (p[0].revents & POLLIN)
			on_signal(s);
	}
	if (s->notify_fd >= 0) {
		s->failed = true;
		for (i = 0; i < s->n; i++)
			s->w[i].waited = false;
		detach(s);
	}
	nftj_dlog(&s->o, LOG_INFO, "stopped");
	return s->failed ? 1 : 0;
}

/* mkdir -p */
static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	size_t i;

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		p[i] = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* fork; the caller's process waits for the first passes and exits */
static int background(struct sup *s)
{
	int fd[2];
	pid_t pid;
	char c;

	if (pipe2(fd, O_CLOEXEC) < 0) {
		cli_errmsg("daemon: pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		cli_errmsg("daemon: fork: %s", strerror(errno));
		return -1;
	}
	if (pid) {
		close(fd[1]);
		if (read(fd[0], &c, 1) == 1 && c == '0')
			_exit(0);
		cli_errmsg("daemon: did not start (see the system log)");
		_exit(1);
	}
	close(fd[0]);
	s->notify_fd = fd[1];
	setsid();
	if (chdir("/") < 0)
		return -1;
	return 0;
}

/* a -n name under /run/netns: its removal stops the worker */
static bool any_named(const struct sup *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->w[i].name && !strchr(s->w[i].name, '/'))
			return true;
	return false;
}

static int setup_fds(struct sup *s)
{
	int fd[2];

	if (pipe2(fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	s->ready_rd = fd[0];
	s->ready_wr = fd[1];
	s->ino_fd = -1;
	if (!s->all_netns && !any_named(s))
		return 0;
	if (s->all_netns)
		mkdirs(NETNS_DIR);
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino_fd >= 0 &&
	    inotify_add_watch(s->ino_fd, NETNS_DIR, IN_CREATE | IN_DELETE |
			      IN_MOVED_FROM | IN_MOVED_TO) < 0) {
		if (s->all_netns)
			return -errno;
		close(s->ino_fd);
		s->ino_fd = -1;
	}
	if (s->all_netns)
		scan_netns(s);
	return 0;
}

static int run(struct sup *s)
{
	struct nftj_kctl k;
	sigset_t ss;
	size_t i;
	int err, fd;

	/* startup checks, with a message on stderr */
	if (cli_kctl_open(&k))
		return 1;
	nftj_kctl_close(&k);
	for (i = 0; i < s->n; i++) {
		char path[PATH_MAX];

		if (!s->w[i].name)
			continue;
		snprintf(path, sizeof(path), "%s%s", strchr(s->w[i].name, '/') ?
			 "" : NETNS_DIR "/", s->w[i].name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_errmsg("network namespace %s: %s", s->w[i].name,
				   strerror(errno));
			return 1;
		}
		close(fd);
	}
	err = mkdirs(s->o.state_dir);
	if (err) {
		cli_errmsg("state directory %s: %s", s->o.state_dir,
			   strerror(-err));
		return 1;
	}
	s->notify_fd = -1;
	if (!s->o.foreground) {
		openlog("nft-jit", LOG_PID, LOG_DAEMON);
		s->o.errors_to_stderr = true;
		if (background(s))
			return 1;
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	s->sig_fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sig_fd < 0) {
		cli_errmsg("daemon: signalfd: %s", strerror(errno));
		return 1;
	}
	s->pid = getpid();
	err = setup_fds(s);
	if (err) {
		cli_errmsg("daemon: %s: %s", NETNS_DIR, strerror(-err));
		return 1;
	}
	nftj_dlog(&s->o, LOG_INFO, "started: %zu network namespace%s, state in %s",
		  s->n, s->n == 1 ? "" : "s", s->o.state_dir);
	for (i = 0; i < s->n; i++) {
		s->w[i].waited = s->w[i].wanted;
		if (s->w[i].wanted)
			spawn(s, &s->w[i]);
	}
	return supervise(s);
}

int cmd_daemon(int argc, char **argv, const char *netns)
{
	static const struct option lo[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "all-netns", no_argument, NULL, 'a' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char cwd[PATH_MAX], *dir = NULL;
	struct sup s = { .sig_fd = -1, .ino_fd = -1, .notify_fd = -1 };
	const char *state_dir = getenv("NFTJ_STATE_DIR");
	struct sworker *w;
	size_t i;
	int c, rc;

	if (netns && !sworker_add(&s, netns))
		return 1;
	while ((c = getopt_long(argc, argv, "n:afs:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!sworker_add(&s, optarg))
				return 1;
			break;
		case 'a': s.all_netns = true; break;
		case 'f': s.o.foreground = true; break;
		case 's': state_dir = optarg; break;
		case 'v': s.o.verbose = true; break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_errmsg("daemon: unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}
	if (!state_dir || !*state_dir)
		state_dir = NFTJ_STATE_DIR;
	if (state_dir[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
	    asprintf(&dir, "%s/%s", cwd, state_dir) < 0)
		dir = NULL;
	s.o.state_dir = dir ? dir : state_dir;
	if (!s.n || s.all_netns) {
		w = sworker_add(&s, NULL);
		if (!w)
			return 1;
	}
	for (i = 0; i < s.n; i++) {
		s.w[i].wanted = true;
		s.w[i].explicit = true;
	}
	rc = run(&s);
	for (i = 0; i < s.n; i++) {
		free(s.w[i].name);
		free(s.w[i].tag);
	}
	free(s.w);
	free(dir);
	return rc;
}
