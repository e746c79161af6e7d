// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "pkt.h"

static int add(struct pkt_list *l, const uint8_t *data, size_t len)
{
	struct pkt *n;

	if (len == 0 || len > PKT_MAX)
		return -EINVAL;
	n = realloc(l->p, (l->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->p = n;
	n[l->n].data = malloc(len);
	if (!n[l->n].data)
		return -ENOMEM;
	memcpy(n[l->n].data, data, len);
	n[l->n].len = len;
	l->n++;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pkt_add_hex(struct pkt_list *l, const char *hex)
{
	size_t cap = strlen(hex) / 2 + 1, n = 0;
	uint8_t *buf = malloc(cap);
	int hi = -1, v, err;

	if (!buf)
		return -ENOMEM;
	if (!strncmp(hex, "0x", 2))
		hex += 2;
	for (; *hex; hex++) {
		if (strchr(" :.-", *hex) && hi < 0)
			continue;
		v = hexval(*hex);
		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		if (hi < 0) {
			hi = v;
		} else {
			buf[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	err = hi >= 0 ? -EINVAL : add(l, buf, n);
	free(buf);
	return err;
}

/* bytes before the IP header for a link type, -1 if unsupported */
static int l2_len(int dlt, const uint8_t *d, size_t len)
{
	switch (dlt) {
	case DLT_RAW:		/* 12 or 14 on some systems */
	case 101:		/* LINKTYPE_RAW */
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	case DLT_EN10MB:
		if (len < 14 || (d[12] == 0x81 && d[13] == 0x00))
			return -1;
		return 14;
	case DLT_LINUX_SLL:
		return 16;
	}
	return -1;
}

int pkt_add_pcap(struct pkt_list *l, const char *path, char *err,
		 size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *pc;
	int dlt, r, off, ret = 0;
	size_t idx = 0;

	pc = pcap_open_offline(path, ebuf);
	if (!pc) {
		if (strncmp(ebuf, path, strlen(path)))
			snprintf(err, errlen, "%s: %s", path, ebuf);
		else
			snprintf(err, errlen, "%s", ebuf);
		return -EINVAL;
	}
	dlt = pcap_datalink(pc);
	while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
		off = l2_len(dlt, d, h->caplen);
		if (off < 0 || (size_t)off >= h->caplen) {
			snprintf(err, errlen,
				 "%s: packet %zu: unsupported link type %s or frame",
				 path, idx, pcap_datalink_val_to_name(dlt) ?
				 pcap_datalink_val_to_name(dlt) : "?");
			ret = -EINVAL;
			break;
		}
		if (h->caplen < h->len) {
			snprintf(err, errlen, "%s: packet %zu is truncated by the capture (%u of %u bytes)",
				 path, idx, h->caplen, h->len);
			ret = -EINVAL;
			break;
		}
		ret = add(l, d + off, h->caplen - off);
		if (ret) {
			snprintf(err, errlen, "%s: packet %zu: %s", path, idx,
				 strerror(-ret));
			break;
		}
		idx++;
	}
	if (!ret && r == -1) {
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(pc));
		ret = -EINVAL;
	}
	pcap_close(pc);
	return ret;
}

void pkt_list_free(struct pkt_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->p[i].data);
	free(l->p);
	l->p = NULL;
	l->n = 0;
}
