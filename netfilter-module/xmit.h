/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xmit.h - sending a packet straight to a cached MAC, without a route.
 */
#ifndef _GWMARK_XMIT_H
#define _GWMARK_XMIT_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>

/**
 * enum gwmark_xmit_result - what became of a packet handed to gwmark_xmit()
 * @GWMARK_XMIT_SENT:    queued to the device; the skb is gone (NF_STOLEN)
 * @GWMARK_XMIT_LOST:    consumed but dropped by the device or qdisc; the skb
 *                       is gone (NF_STOLEN, counted as an error)
 * @GWMARK_XMIT_DROP:    could not be prepared; the skb is still the hook's
 *                       and must be dropped (NF_DROP, counted as an error)
 */
enum gwmark_xmit_result {
	GWMARK_XMIT_SENT,
	GWMARK_XMIT_LOST,
	GWMARK_XMIT_DROP,
};

/**
 * struct gwmark_xmit_to - where and how a fast-path packet leaves
 * @dev:        the output device (a port, a plain device, or a bridge)
 * @daddr:      the destination MAC
 * @saddr:      the source MAC, or NULL for @dev's own address
 * @vlan_proto: tag the frame with this 802.1Q/802.1ad protocol ...
 * @vlan_tci:   ... and TCI; @vlan_proto 0 sends it untagged
 * @fragment:   send the packet as fragments (gwmark_xmit_check() said
 *              GWMARK_CHECK_FRAGMENT or GWMARK_CHECK_REFRAGMENT)
 */
struct gwmark_xmit_to {
	struct net_device *dev;
	const u8 *daddr;
	const u8 *saddr;
	__be16 vlan_proto;
	u16 vlan_tci;
	bool fragment;
};

/**
 * enum gwmark_xmit_check - what gwmark_xmit_check() says about a packet
 * @GWMARK_CHECK_OK:      the fast path may send it
 * @GWMARK_CHECK_NO:      the normal path must handle it
 * @GWMARK_CHECK_TOO_BIG: a forwarded packet larger than the output MTU that
 *                        may not be fragmented (IPv4 DF, IPv6)
 * @GWMARK_CHECK_TTL:     a forwarded packet whose TTL/hop limit expires here
 * @GWMARK_CHECK_FRAGMENT: a forwarded IPv4 packet larger than the output MTU
 *                        without DF: the fast path sends it in fragments
 * @GWMARK_CHECK_REFRAGMENT: a forwarded datagram (IPv4, IPv6) that conntrack
 *                        reassembled: the fast path sends it in fragments
 *                        no larger than the largest one received, as the
 *                        stack would
 */
enum gwmark_xmit_check {
	GWMARK_CHECK_OK,
	GWMARK_CHECK_NO,
	GWMARK_CHECK_TOO_BIG,
	GWMARK_CHECK_TTL,
	GWMARK_CHECK_FRAGMENT,
	GWMARK_CHECK_REFRAGMENT,
};

bool gwmark_xmit_dev_usable(const struct net_device *dev);
enum gwmark_xmit_check gwmark_xmit_check(struct sk_buff *skb, u8 pf,
					 const struct net_device *dev,
					 const u8 *daddr, bool forward);
bool gwmark_xmit_icmp(struct sk_buff *skb, u8 pf, struct net *net,
		      enum gwmark_xmit_check why, unsigned int mtu);
enum gwmark_xmit_result gwmark_xmit(struct sk_buff *skb, u8 pf,
				    const struct gwmark_xmit_to *to,
				    u32 clear_mask, bool forward);

#endif /* _GWMARK_XMIT_H */
