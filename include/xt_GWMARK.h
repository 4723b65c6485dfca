/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * xt_GWMARK.h - the one ABI shared by xt_GWMARK.ko, libxt_GWMARK.so and the
 * wirebridge agent.
 *
 * Three things cross the kernel/user boundary and are fixed here:
 *
 *   1. struct xt_gwmark_tginfo, the GWMARK target's rule data, exchanged by
 *      iptables (legacy setsockopt or nft_compat netlink) and the module.
 *   2. The text format of /proc/net/gwmark/stats.
 *   3. The text format of /proc/net/gwmark/flows.
 *
 * Everything else (the cache, its locking, the transmit path) is private to
 * the module and may change at any time. Changing anything in this file is an
 * ABI change: the target struct only ever grows by a new revision, and the
 * /proc formats only ever grow by new lines (stats) or new trailing columns
 * (flows), so that existing parsers keep working.
 *
 * This header is included by kernel code (with __KERNEL__ defined) and by
 * userspace C and C++; it uses only <linux/types.h>.
 */
#ifndef _XT_GWMARK_H
#define _XT_GWMARK_H

#include <linux/types.h>

/* ------------------------------------------------------------------------ */
/* 1. The GWMARK target                                                      */
/* ------------------------------------------------------------------------ */

/*
 * GWMARK does two things for a packet that a rule sends to it, in table
 * mangle, chains PREROUTING and OUTPUT, for IPv4 and IPv6:
 *
 *   - It sets the packet's mark, depending on the packet's conntrack
 *     direction: a reply-direction packet gets the reply mark, an
 *     original-direction packet gets the original mark. The update is
 *     "--set-mark" style:  mark = (mark & ~mask) | value.
 *     A packet without a usable conntrack entry is left unmarked.
 *
 *   - It makes these values the fast-path selectors of the rule's network
 *     namespace. The module's hooks then send
 *       * a reply-direction packet at PRE_ROUTING with (mark & reply_mask)
 *         == reply_mark straight to the cached reply-to MAC (the original
 *         sender's source MAC) out of the cached ingress device (via its
 *         bridge, with the VLAN tag the flow arrived with, when that device
 *         is a bridge port), with the cached gateway MAC as Ethernet source
 *         (transparent; module parameter "transparent", default Y), and
 *       * an original-direction packet at LOCAL_OUT with (mark & orig_mask)
 *         == orig_mark straight to the cached gateway MAC (the destination
 *         MAC the original sender chose),
 *     without a routing lookup. Packets that cannot be sent that way take
 *     the normal path and are counted as "fallback".
 *
 *   The selectors are per network namespace and per family and follow the
 *   rules installed: a packet of family F takes the fast path if its mark
 *   matches the selector of any GWMARK rule of family F in force (at most 4
 *   distinct selectors per family and direction, oldest rule first; a rule
 *   beyond them is counted in "rules_unselected" and the packets it marks
 *   in "unselected"). A family without a GWMARK rule has its fast path off.
 *   In a network namespace owned by a non-initial user namespace a rule is
 *   refused with EPERM unless the module parameter allow_userns is set.
 *
 * iptables syntax:
 *   iptables -t mangle -A PREROUTING -i tap0 -j GWMARK --reply-mark 0x32
 *   iptables -t mangle -A OUTPUT -j GWMARK --orig-mark 0x33/0xff
 * At least one of the two options is required. VALUE and MASK are 32-bit
 * unsigned numbers (decimal or 0x hex); MASK defaults to 0xffffffff; VALUE
 * must not have bits outside MASK; a zero VALUE is refused because mark 0
 * is the mark of every unmarked packet.
 */

/* Revision of struct xt_gwmark_tginfo below. */
#define XT_GWMARK_REVISION	0

/* xt_gwmark_tginfo.flags: which options the rule gave. */
enum {
	XT_GWMARK_F_REPLY = 1 << 0,	/* --reply-mark given */
	XT_GWMARK_F_ORIG  = 1 << 1,	/* --orig-mark given */
	XT_GWMARK_F_MASK  = XT_GWMARK_F_REPLY | XT_GWMARK_F_ORIG,
};

/**
 * struct xt_gwmark_tginfo - GWMARK rule data (revision 0)
 * @flags:      XT_GWMARK_F_* bits; unknown bits are refused by the module.
 * @reply_mark: mark value for reply-direction packets and the PRE_ROUTING
 *              fast-path selector.
 * @reply_mask: bits of the mark that @reply_mark owns.
 * @orig_mark:  mark value for original-direction packets and the LOCAL_OUT
 *              fast-path selector.
 * @orig_mask:  bits of the mark that @orig_mark owns.
 * @priv:       kernel-only: the module's per-rule state. Userspace leaves it
 *              zero; it is excluded from the user-visible size (usersize), so
 *              iptables-save never sees it and rule comparison ignores it.
 *
 * Every user-visible field is a __u32 so the layout is the same on every
 * architecture and for 32-bit iptables on a 64-bit kernel.
 */
struct xt_gwmark_tginfo {
	__u32 flags;
	__u32 reply_mark;
	__u32 reply_mask;
	__u32 orig_mark;
	__u32 orig_mask;

	/* kernel-only fields below this line */
	void *priv __attribute__((aligned(8)));
};

/* Size of the part of the struct that userspace owns and compares. */
#define XT_GWMARK_USERSIZE	(5 * sizeof(__u32))

/* ------------------------------------------------------------------------ */
/* 2. /proc/net/gwmark/stats                                                 */
/* ------------------------------------------------------------------------ */

/*
 * One "name value" pair a line, name in [a-z_], value in decimal, in this
 * order; the marks in force are printed as 0x%08x/0x%08x (value/mask), or
 * "off" when no rule has set them. Example:
 *
 *   learned 42
 *   reply_xmit 1311
 *   orig_xmit 0
 *   miss 3
 *   mac_updates 1
 *   fallback 2
 *   evicted 0
 *   errors 0
 *   mac_moves 1
 *   learn_dropped 0
 *   alloc_failed 0
 *   icmp_sent 0
 *   hop_refused 0
 *   rules_added 1
 *   rules_removed 0
 *   unselected 0
 *   total_dropped 0
 *   fragmented 0
 *   refragmented 0
 *   evicted_unconfirmed 0
 *   fragmented_options 0
 *   entries 17
 *   max_entries 65536
 *   reply_mark 0x00000032/0xffffffff
 *   orig_mark off
 *   rules_ipv4 1
 *   rules_ipv6 0
 *   rules_unselected 0
 *   max_entries_total 262144
 *
 * Counters are per network namespace and only ever grow; "entries" is the
 * number of flows cached now and "max_entries" the bound on it;
 * "reply_mark"/"orig_mark" are the selectors of the newest rule that names
 * one; "rules_ipv4"/"rules_ipv6" the GWMARK rules installed per family,
 * "rules_unselected" those whose selectors are not all in force, and
 * "max_entries_total" the bound on the flows of all namespaces together
 * (module parameter).
 *
 *   learned      a flow was added to the cache
 *   reply_xmit   a reply-direction packet was sent by the fast path
 *   orig_xmit    an original-direction packet was sent by the fast path
 *   miss         a marked packet had no (valid) cache entry
 *   mac_updates  a cached MAC or device changed (host moved, gateway failover)
 *   fallback     a marked packet had an entry but had to take the normal path
 *                (device down, too big for the MTU, TTL expiring, ...)
 *   evicted      an entry was dropped to keep entries <= max_entries
 *                (entries whose connection is not assured go first)
 *   errors       the fast path dropped a packet (allocation or xmit failure),
 *                or a MAC move could not be queued
 *   mac_moves    an ARP or IPv6 ND packet showed an address at a new MAC
 *                (gratuitous ARP / unsolicited NA of a failover); every
 *                cached hop naming the old MAC is rewritten (mac_updates)
 *   learn_dropped a new connection was not cached: the cache was full of
 *                assured connections and the newcomer was not assured
 *   alloc_failed a flow (or its hash bucket) could not be allocated
 *   icmp_sent    a reply the fast path could not send was answered with
 *                ICMP/ICMPv6 to its sender (fragmentation needed / packet
 *                too big, time exceeded) and dropped
 *   hop_refused  a packet with a flow's tuple came from another MAC, port
 *                or VLAN while the flow's sender was still active (seen in
 *                the last second): the flow was not moved (spoof protection)
 *   rules_added  a GWMARK rule was checked and installed (every instance:
 *                an iptables-legacy table replace adds the new table's)
 *   rules_removed a GWMARK rule was destroyed (deleted, replaced, or rolled
 *                back by a failed transaction)
 *   unselected   a GWMARK rule marked a packet while its selector was not in
 *                force (its family has 4 other distinct selectors): the
 *                packet cannot take the fast path
 *   total_dropped a new connection was not cached because all namespaces
 *                together hold max_entries_total flows and this one had
 *                none of its own to recycle
 *   fragmented   an IPv4 reply larger than the output MTU without DF was
 *                sent by the fast path in fragments (also in reply_xmit)
 *   refragmented a reply (IPv4, IPv6) that conntrack had reassembled was sent by
 *                the fast path in fragments no larger than the largest one
 *                received (also in reply_xmit)
 *   evicted_unconfirmed an evicted flow (also in evicted) had never been
 *                seen with its conntrack entry confirmed: only its first
 *                packet came (a scan probe, a dropped packet). Eviction
 *                takes these first, then flows not assured, and assured
 *                ones only for an assured newcomer
 *   fragmented_options an IPv4 reply with IP options was sent in fragments
 *                (also in fragmented or refragmented): every option went
 *                into the first fragment, only those with the copied flag
 *                into the others (RFC 791, as the kernel's ip_fragment())
 */
#define GWMARK_PROC_DIR		"gwmark"	/* under /proc/net/ */
#define GWMARK_PROC_STATS	"stats"
#define GWMARK_PROC_FLOWS	"flows"

/* Counter names, in the order the stats file prints them. */
#define GWMARK_STAT_NAMES					\
	"learned", "reply_xmit", "orig_xmit", "miss",		\
	"mac_updates", "fallback", "evicted", "errors", "mac_moves",	\
	"learn_dropped", "alloc_failed", "icmp_sent", "hop_refused",	\
	"rules_added", "rules_removed", "unselected", "total_dropped",	\
	"fragmented", "refragmented", "evicted_unconfirmed",		\
	"fragmented_options"

/* Gauge and selector lines that follow the counters. */
#define GWMARK_STAT_ENTRIES	"entries"
#define GWMARK_STAT_MAX_ENTRIES	"max_entries"
#define GWMARK_STAT_REPLY_MARK	"reply_mark"
#define GWMARK_STAT_ORIG_MARK	"orig_mark"
#define GWMARK_STAT_MARK_OFF	"off"
#define GWMARK_STAT_RULES_IPV4	"rules_ipv4"
#define GWMARK_STAT_RULES_IPV6	"rules_ipv6"
#define GWMARK_STAT_RULES_UNSELECTED	"rules_unselected"
#define GWMARK_STAT_MAX_ENTRIES_TOTAL	"max_entries_total"

/* ------------------------------------------------------------------------ */
/* 3. /proc/net/gwmark/flows                                                 */
/* ------------------------------------------------------------------------ */

/*
 * One cached flow a line, ten fields separated by single spaces, the tuple
 * of the original direction:
 *
 *   FAMILY PROTO SRC SPORT DST DPORT REPLY_TO_MAC GATEWAY_MAC DEVICE AGE
 *
 *   FAMILY       "ipv4" or "ipv6"
 *   PROTO        "tcp", "udp", "icmp", "icmpv6", "sctp", "gre", or the
 *                protocol number in decimal
 *   SRC, DST     addresses; IPv6 in the compressed form (RFC 5952)
 *   SPORT, DPORT ports in decimal; 0 for protocols without ports
 *                (ICMP prints its id as SPORT and 0 as DPORT)
 *   REPLY_TO_MAC the source MAC of the original direction (where replies go)
 *   GATEWAY_MAC  the destination MAC of the original direction (the gateway
 *                the sender chose), both as xx:xx:xx:xx:xx:xx lower case
 *   DEVICE       the ingress device name, or "-" if it is gone
 *   AGE          seconds since the entry was last refreshed
 *
 * The first line is a header starting with '#'. Example:
 *
 *   # family proto src sport dst dport reply_to gateway dev age
 *   ipv4 tcp 192.0.2.10 40312 198.51.100.7 22 02:00:00:00:0a:01 02:00:00:00:0a:fe lan0 3
 */
#define GWMARK_FLOWS_HEADER \
	"# family proto src sport dst dport reply_to gateway dev age"
#define GWMARK_FLOWS_FIELDS	10

#endif /* _XT_GWMARK_H */
