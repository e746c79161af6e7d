// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_send.h"

static int raw_socket(int af)
{
	int fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	int zero = 0;

	if (fd < 0)
		return -errno;
	/* no loopback of multicast packets: only the hook sees them */
	if (af == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero,
			   sizeof(zero));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero,
			   sizeof(zero));
	return fd;
}

/* ss = address s of family af, or the unspecified address for NULL */
static int addr_set(struct sockaddr_storage *ss, int af, const char *s)
{
	void *a = af == AF_INET ?
		  (void *)&((struct sockaddr_in *)ss)->sin_addr :
		  (void *)&((struct sockaddr_in6 *)ss)->sin6_addr;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)af;
	if (s && inet_pton(af, s, a) != 1)
		return -EINVAL;
	return 0;
}

static int prepare(struct bench_send *s, size_t i, bool have_dst)
{
	const struct pkt *p = &s->pl->p[i];
	int v6 = p->data[0] >> 4 == 6;
	struct sockaddr_storage *to = &s->dst[v6];

	if (p->len < (v6 ? 40U : 20U))
		return -EINVAL;
	s->fam[i] = (uint8_t)v6;
	if (s->fd[v6] < 0) {
		s->fd[v6] = raw_socket(v6 ? AF_INET6 : AF_INET);
		if (s->fd[v6] < 0)
			return s->fd[v6];
	}
	if (!have_dst) {
		/* the packet's own destination selects the route */
		to = &s->own[i];
		addr_set(to, v6 ? AF_INET6 : AF_INET, NULL);
		if (v6)
			memcpy(&((struct sockaddr_in6 *)to)->sin6_addr,
			       p->data + 24, 16);
		else
			memcpy(&((struct sockaddr_in *)to)->sin_addr,
			       p->data + 16, 4);
	}
	s->iov[i].iov_base = p->data;
	s->iov[i].iov_len = p->len;
	s->msg[i].msg_hdr.msg_iov = &s->iov[i];
	s->msg[i].msg_hdr.msg_iovlen = 1;
	s->msg[i].msg_hdr.msg_name = to;
	s->msg[i].msg_hdr.msg_namelen = v6 ? sizeof(struct sockaddr_in6) :
					     sizeof(struct sockaddr_in);
	return 0;
}

int bench_send_init(struct bench_send *s, const struct pkt_list *pl,
		    const char *dst4, const char *dst6)
{
	size_t i, n = pl->n ? pl->n : 1;
	int err;

	memset(s, 0, sizeof(*s));
	s->fd[0] = s->fd[1] = -1;
	s->pl = pl;
	s->msg = calloc(n, sizeof(*s->msg));
	s->iov = calloc(n, sizeof(*s->iov));
	s->own = calloc(n, sizeof(*s->own));
	s->fam = calloc(n, 1);
	if (!s->msg || !s->iov || !s->own || !s->fam) {
		bench_send_free(s);
		return -ENOMEM;
	}
	err = addr_set(&s->dst[0], AF_INET, dst4);
	if (!err)
		err = addr_set(&s->dst[1], AF_INET6, dst6);
	for (i = 0; !err && i < pl->n; i++)
		err = prepare(s, i, s->pl->p[i].data[0] >> 4 == 6 ? !!dst6 :
			      !!dst4);
	if (err)
		bench_send_free(s);
	return err;
}

void bench_send_free(struct bench_send *s)
{
	int i;

	for (i = 0; i < 2; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	free(s->msg);
	free(s->iov);
	free(s->own);
	free(s->fam);
	memset(s, 0, sizeof(*s));
	s->fd[0] = s->fd[1] = -1;
}

/* packets [from, to) of one family */
static int send_run(struct bench_send *s, size_t from, size_t to,
		    uint64_t *drops)
{
	int fd = s->fd[s->fam[from]];

	while (from < to) {
		unsigned int n = to - from > BSEND_BATCH ? BSEND_BATCH :
				 (unsigned int)(to - from);
		int r = sendmmsg(fd, &s->msg[from], n, 0);

		if (r < 0) {
			if (errno != EPERM)
				return -errno;
			r = 0;		/* the first one was dropped */
		}
		from += (size_t)r;
		if ((unsigned int)r < n) {
			/* sendmmsg() stopped at a dropped packet */
			(*drops)++;
			from++;
		}
	}
	return 0;
}

int bench_send_pass(struct bench_send *s, uint64_t *drops)
{
	size_t i = 0, j, n = s->pl->n;
	int err;

	while (i < n) {
		for (j = i + 1; j < n && s->fam[j] == s->fam[i]; j++)
			;
		err = send_run(s, i, j, drops);
		if (err)
			return err;
		i = j;
	}
	return 0;
}

int bench_send_verdicts(struct bench_send *s, uint8_t *drop)
{
	size_t i;

	for (i = 0; i < s->pl->n; i++) {
		const struct msghdr *m = &s->msg[i].msg_hdr;

		drop[i] = 0;
		if (sendmsg(s->fd[s->fam[i]], m, 0) >= 0)
			continue;
		if (errno != EPERM)
			return -errno;
		drop[i] = 1;
	}
	return 0;
}
