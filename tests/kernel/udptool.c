// SPDX-License-Identifier: GPL-2.0
/*
 * udptool.c - the UDP traffic the VM scenarios need, fast enough under TCG
 * (tests/kernel/run compiles it on the host into the run's work dir).
 *
 *   udptool recv ADDR PORT FILE            append each datagram as a line to
 *                                          FILE; writes "ready" first
 *   udptool send SRC SPORT DST DPORT TEXT  one datagram from SRC:SPORT; the
 *                                          socket is transparent, so SRC need
 *                                          not be a local address
 *   udptool send-opts SRC SPORT DST DPORT TEXT
 *                                          the same over IPv4 with two IP
 *                                          options: record route (not
 *                                          copied into fragments, RFC 791)
 *                                          and router alert (copied)
 *   udptool flows DST N                    N datagrams, each from a new
 *                                          (source port, destination port)
 *                                          pair: N new connections; prints
 *                                          how many were sent
 *   udptool announce DEV ADDR MAC          what a router that takes over an
 *                                          address sends (keepalived): a
 *                                          gratuitous ARP request (IPv4) or
 *                                          an unsolicited neighbour
 *                                          advertisement with the override
 *                                          flag to ff02::1 (IPv6), out of DEV
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

union udptool_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

static socklen_t udptool_addr_parse(const char *host, const char *port,
				    union udptool_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, host, &a->v4.sin_addr) == 1) {
		a->v4.sin_family = AF_INET;
		a->v4.sin_port = htons(atoi(port));
		return sizeof(a->v4);
	}
	if (inet_pton(AF_INET6, host, &a->v6.sin6_addr) == 1) {
		a->v6.sin6_family = AF_INET6;
		a->v6.sin6_port = htons(atoi(port));
		return sizeof(a->v6);
	}
	fprintf(stderr, "udptool: bad address %s\n", host);
	exit(2);
}

static int udptool_socket(int family)
{
	int s = socket(family, SOCK_DGRAM, 0);

	if (s < 0) {
		perror("udptool: socket");
		exit(1);
	}
	return s;
}

static int udptool_recv(char **argv)
{
	union udptool_addr a;
	socklen_t len = udptool_addr_parse(argv[0], argv[1], &a);
	int s = udptool_socket(a.sa.sa_family), one = 1;
	char buf[65536];
	FILE *out;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, &a.sa, len) < 0) {
		perror("udptool: bind");
		return 1;
	}
	out = fopen(argv[2], "a");
	if (!out) {
		perror("udptool: open");
		return 1;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	fputs("ready\n", out);
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("udptool: recv");
			return 1;
		}
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
		buf[n] = 0;
		fprintf(out, "%s\n", buf);
	}
}

static int udptool_send(char **argv, int with_options)
{
	union udptool_addr src, dst;
	socklen_t slen = udptool_addr_parse(argv[0], argv[1], &src);
	socklen_t dlen = udptool_addr_parse(argv[2], argv[3], &dst);
	int s = udptool_socket(dst.sa.sa_family), one = 1;
	/* Record route with one slot (type 7, the sender fills it), router alert (type 148),
	 * end of list: 12 bytes. */
	static const unsigned char opts[12] = { 7, 7, 4, 0, 0, 0, 0, 148, 4, 0, 0, 0 };

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (dst.sa.sa_family == AF_INET)
		setsockopt(s, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	else
		setsockopt(s, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	if (bind(s, &src.sa, slen) < 0) {
		perror("udptool: bind");
		return 1;
	}
	if (with_options && (dst.sa.sa_family != AF_INET ||
			     setsockopt(s, SOL_IP, IP_OPTIONS, opts, sizeof(opts)) < 0)) {
		perror("udptool: IP_OPTIONS");
		return 1;
	}
	if (sendto(s, argv[4], strlen(argv[4]), 0, &dst.sa, dlen) < 0) {
		perror("udptool: sendto");
		return 1;
	}
	return 0;
}

static int udptool_flows(char **argv)
{
	union udptool_addr dst;
	socklen_t dlen = udptool_addr_parse(argv[0], "0", &dst);
	long n = atol(argv[1]), sent = 0, i;
	int s = -1, dport = 65536;

	for (i = 0; i < n; i++) {
		int tries, ok = 0;

		/* A new socket (source port) every 60000 destination ports. */
		if (dport > 61023) {
			if (s >= 0)
				close(s);
			s = udptool_socket(dst.sa.sa_family);
			dport = 1024;
		}
		if (dst.sa.sa_family == AF_INET)
			dst.v4.sin_port = htons(dport);
		else
			dst.v6.sin6_port = htons(dport);
		dport++;
		/* A full queue is not a lost connection: retry briefly. */
		for (tries = 0; tries < 100; tries++) {
			if (sendto(s, "x", 1, 0, &dst.sa, dlen) == 1) {
				ok = 1;
				break;
			}
			if (errno != ENOBUFS && errno != EAGAIN)
				break;
			usleep(1000);
		}
		sent += ok;
	}
	printf("%ld\n", sent);
	return 0;
}

static int udptool_mac_parse(const char *text, unsigned char mac[6])
{
	return sscanf(text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
		      &mac[2], &mac[3], &mac[4], &mac[5]) == 6 ? 0 : -1;
}

static int udptool_announce(char **argv)
{
	unsigned int ifindex = if_nametoindex(argv[0]);
	union udptool_addr a;
	unsigned char mac[6];

	udptool_addr_parse(argv[1], "0", &a);
	if (!ifindex || udptool_mac_parse(argv[2], mac)) {
		fprintf(stderr, "udptool: bad device or MAC\n");
		return 2;
	}
	if (a.sa.sa_family == AF_INET) {
		/* ARP request, sender = target = ADDR: a gratuitous ARP. */
		unsigned char arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
		struct sockaddr_ll ll = {
			.sll_family = AF_PACKET,
			.sll_protocol = htons(ETH_P_ARP),
			.sll_ifindex = ifindex,
			.sll_halen = 6,
			.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		};
		int s = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));

		memcpy(arp + 8, mac, 6);
		memcpy(arp + 14, &a.v4.sin_addr, 4);
		memcpy(arp + 24, &a.v4.sin_addr, 4);
		if (s < 0 || sendto(s, arp, sizeof(arp), 0,
				    (struct sockaddr *)&ll, sizeof(ll)) < 0) {
			perror("udptool: ARP");
			return 1;
		}
		return 0;
	} else {
		/* NA: override flag, target ADDR, target link-layer option. */
		struct {
			struct nd_neighbor_advert na;
			unsigned char opt[8];
		} m = { 0 };
		struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };
		int s = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6), hops = 255;

		m.na.nd_na_type = ND_NEIGHBOR_ADVERT;
		m.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE | ND_NA_FLAG_ROUTER;
		m.na.nd_na_target = a.v6.sin6_addr;
		m.opt[0] = ND_OPT_TARGET_LINKADDR;
		m.opt[1] = 1;
		memcpy(m.opt + 2, mac, 6);
		inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
		dst.sin6_scope_id = ifindex;
		if (s < 0 ||
		    setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) ||
		    setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) ||
		    sendto(s, &m, sizeof(m), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("udptool: NA");
			return 1;
		}
		return 0;
	}
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "recv"))
		return udptool_recv(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "send"))
		return udptool_send(argv + 2, 0);
	if (argc == 7 && !strcmp(argv[1], "send-opts"))
		return udptool_send(argv + 2, 1);
	if (argc == 4 && !strcmp(argv[1], "flows"))
		return udptool_flows(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "announce"))
		return udptool_announce(argv + 2);
	fprintf(stderr,
		"usage: udptool recv ADDR PORT FILE | send[-opts] SRC SPORT DST DPORT TEXT | flows DST N | announce DEV ADDR MAC\n");
	return 2;
}
