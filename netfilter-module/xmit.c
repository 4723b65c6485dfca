// SPDX-License-Identifier: GPL-2.0
/*
 * xmit.c - the direct transmit: a fresh Ethernet header to a cached MAC and
 * dev_queue_xmit() on a cached device, bypassing routing and neighbours.
 *
 * The split into gwmark_xmit_check() and gwmark_xmit() is the contract with
 * the hooks: the check decides, without touching the packet, whether the
 * fast path may take it; once gwmark_xmit() starts changing the packet (TTL,
 * dst, header), there is no way back to the normal path.
 */
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <net/dst.h>
#include <net/icmp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/route.h>
#include <net/netfilter/nf_conntrack.h>

#include "compat.h"
#include "xmit.h"

/*
 * A packet we send can come back into our LOCAL_OUT hook synchronously
 * (tunnel devices transmit from inside dev_queue_xmit()). Like nf_dup_netdev,
 * count the nesting per CPU and give up beyond a small depth.
 */
#define GWMARK_XMIT_DEPTH_MAX	2
static DEFINE_PER_CPU(u8, gwmark_xmit_depth);

/**
 * gwmark_xmit_dev_usable() - whether a device can take a fast-path packet
 * @dev: the cached device, looked up by ifindex under RCU
 *
 * Return: true for an Ethernet device that is up, has carrier and builds
 * its own link-layer header.
 */
bool gwmark_xmit_dev_usable(const struct net_device *dev)
{
	return dev->type == ARPHRD_ETHER && dev->header_ops &&
	       dev->header_ops->create && netif_running(dev) &&
	       netif_carrier_ok(dev);
}

static bool gwmark_xmit_fits(const struct sk_buff *skb,
			     const struct net_device *dev)
{
	if (skb->len <= dev->mtu)
		return true;
	return skb_is_gso(skb) && skb_gso_validate_network_len(skb, dev->mtu);
}

static enum gwmark_xmit_check gwmark_xmit_check_ipv4(struct sk_buff *skb,
						     const struct net_device *dev,
						     bool forward)
{
	const struct iphdr *iph;

	if (!pskb_network_may_pull(skb, sizeof(*iph)))
		return GWMARK_CHECK_NO;
	iph = ip_hdr(skb);
	if (iph->version != 4 || ipv4_is_multicast(iph->daddr) ||
	    ipv4_is_lbcast(iph->daddr) || ipv4_is_loopback(iph->daddr))
		return GWMARK_CHECK_NO;
	if (!forward)
		return gwmark_xmit_fits(skb, dev) ? GWMARK_CHECK_OK :
						    GWMARK_CHECK_NO;
	if (iph->ttl <= 1)
		return GWMARK_CHECK_TTL;
	/*
	 * Reassembled by nf_defrag: like ip_fragment(), send it again in
	 * fragments no larger than the largest received, and answer "too
	 * big" if those cannot pass. IP options are copied into the
	 * fragments as RFC 791 says (gwmark_xmit_fragments4()).
	 */
	if (IPCB(skb)->frag_max_size) {
		if (IPCB(skb)->frag_max_size > dev->mtu)
			return GWMARK_CHECK_TOO_BIG;
		return GWMARK_CHECK_REFRAGMENT;
	}
	if (gwmark_xmit_fits(skb, dev))
		return GWMARK_CHECK_OK;
	if (iph->frag_off & htons(IP_DF))
		return GWMARK_CHECK_TOO_BIG;
	/* No DF: fragment it, as a router does. */
	if (skb_is_gso(skb) || dev->mtu < 68)
		return GWMARK_CHECK_NO;
	return GWMARK_CHECK_FRAGMENT;
}

static enum gwmark_xmit_check gwmark_xmit_check_ipv6(struct sk_buff *skb,
						     const struct net_device *dev,
						     bool forward)
{
	const struct ipv6hdr *ip6h;
	int type;

	if (!pskb_network_may_pull(skb, sizeof(*ip6h)))
		return GWMARK_CHECK_NO;
	ip6h = ipv6_hdr(skb);
	if (ip6h->version != 6)
		return GWMARK_CHECK_NO;
	type = ipv6_addr_type(&ip6h->daddr);
	if (type & (IPV6_ADDR_MULTICAST | IPV6_ADDR_LINKLOCAL |
		    IPV6_ADDR_LOOPBACK))
		return GWMARK_CHECK_NO;
	if (!forward)
		return gwmark_xmit_fits(skb, dev) ? GWMARK_CHECK_OK :
						    GWMARK_CHECK_NO;
	if (ip6h->hop_limit <= 1)
		return GWMARK_CHECK_TTL;
	/*
	 * Reassembled by nf_defrag: like ip6_forward() and ip6_fragment(),
	 * "too big" if the largest fragment received cannot pass, else
	 * fragments no larger than it.
	 */
	if (IP6CB(skb)->frag_max_size) {
		if (IP6CB(skb)->frag_max_size > dev->mtu)
			return GWMARK_CHECK_TOO_BIG;
		if (skb->len > IP6CB(skb)->frag_max_size)
			return GWMARK_CHECK_REFRAGMENT;
	}
	return gwmark_xmit_fits(skb, dev) ? GWMARK_CHECK_OK :
					    GWMARK_CHECK_TOO_BIG;
}

/**
 * gwmark_xmit_check() - whether the fast path may send this packet
 * @skb:     the packet, network header at skb->data
 * @pf:      NFPROTO_IPV4 or NFPROTO_IPV6
 * @dev:     the output device (already gwmark_xmit_dev_usable())
 * @daddr:   the destination MAC
 * @forward: true for a forwarded packet (PRE_ROUTING), false for a locally
 *           generated one (LOCAL_OUT)
 *
 * A forwarded packet that is too big and may not be fragmented, or whose
 * TTL/hop limit expires, is reported as such: the caller answers it with an
 * ICMP error (gwmark_xmit_icmp()), since a routeless box's normal path could
 * not. A forwarded IPv4 packet that is too big without DF, or a datagram
 * reassembled by conntrack, is sent in fragments (GWMARK_CHECK_FRAGMENT,
 * _REFRAGMENT), IP options included (RFC 791's copy rule). Everything else
 * the normal path handles better is GWMARK_CHECK_NO: multicast and
 * link-local destinations, packets not addressed to this host's MAC,
 * anything too big at LOCAL_OUT.
 *
 * Return: see enum gwmark_xmit_check.
 */
enum gwmark_xmit_check gwmark_xmit_check(struct sk_buff *skb, u8 pf,
					 const struct net_device *dev,
					 const u8 *daddr, bool forward)
{
	if (!is_valid_ether_addr(daddr))
		return GWMARK_CHECK_NO;
	if (forward && skb->pkt_type != PACKET_HOST)
		return GWMARK_CHECK_NO;
	switch (pf) {
	case NFPROTO_IPV4:
		return gwmark_xmit_check_ipv4(skb, dev, forward);
	case NFPROTO_IPV6:
		return gwmark_xmit_check_ipv6(skb, dev, forward);
	default:
		return GWMARK_CHECK_NO;
	}
}

/**
 * gwmark_xmit_icmp() - answer a packet the fast path cannot send
 * @skb: the packet (passed gwmark_xmit_check(), which said TOO_BIG or TTL);
 *       the caller drops it afterwards
 * @pf:  NFPROTO_IPV4 or NFPROTO_IPV6
 * @net: its namespace
 * @why: GWMARK_CHECK_TOO_BIG or GWMARK_CHECK_TTL
 * @mtu: the output device's MTU, for "fragmentation needed"/"packet too big"
 *
 * The ICMP error goes back to the packet's sender, which the box reaches
 * (the packet came from there); IPv4's icmp_send() wants the packet to
 * carry a route, so it is given the output route to the sender. The usual
 * ICMP rate limits apply.
 *
 * Return: true if an error was handed to the ICMP code.
 */
bool gwmark_xmit_icmp(struct sk_buff *skb, u8 pf, struct net *net,
		      enum gwmark_xmit_check why, unsigned int mtu)
{
	if (pf == NFPROTO_IPV4) {
		struct flowi4 fl4 = { .daddr = ip_hdr(skb)->saddr };
		struct rtable *rt = ip_route_output_key(net, &fl4);

		if (IS_ERR(rt))
			return false;
		skb_dst_drop(skb);
		skb_dst_set(skb, &rt->dst);
		if (why == GWMARK_CHECK_TOO_BIG)
			icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
				  htonl(mtu));
		else
			icmp_send(skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0);
		return true;
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (pf == NFPROTO_IPV6) {
		if (why == GWMARK_CHECK_TOO_BIG)
			icmpv6_send(skb, ICMPV6_PKT_TOOBIG, 0, mtu);
		else
			icmpv6_send(skb, ICMPV6_TIME_EXCEED,
				    ICMPV6_EXC_HOPLIMIT, 0);
		return true;
	}
#endif
	return false;
}

/* Forwarding duties the skipped ip_forward()/ip6_forward() would have done. */
static int gwmark_xmit_forward(struct sk_buff *skb, u8 pf)
{
	unsigned int hlen = pf == NFPROTO_IPV4 ? sizeof(struct iphdr) :
						 sizeof(struct ipv6hdr);

	if (skb_ensure_writable(skb, skb_network_offset(skb) + hlen))
		return -ENOMEM;
	if (pf == NFPROTO_IPV4)
		ip_decrease_ttl(ip_hdr(skb));
	else
		ipv6_hdr(skb)->hop_limit--;
	skb_forward_csum(skb);
	skb_clear_tstamp(skb);
	return 0;
}

/*
 * Give @skb (network header at skb->data, ready to leave) its link-layer
 * header and queue it. GWMARK_XMIT_DROP leaves @skb to the caller.
 */
static enum gwmark_xmit_result gwmark_xmit_frame(struct sk_buff *skb,
						 const struct gwmark_xmit_to *to,
						 __be16 proto)
{
	struct net_device *dev = to->dev;
	int rc;

	__vlan_hwaccel_clear_tag(skb);
	if (to->vlan_proto)
		__vlan_hwaccel_put_tag(skb, to->vlan_proto, to->vlan_tci);
	skb->dev = dev;
	skb->protocol = proto;
	if (dev_hard_header(skb, dev, ntohs(proto), to->daddr, to->saddr,
			    skb->len) < 0)
		return GWMARK_XMIT_DROP;
	skb_reset_mac_header(skb);

	local_bh_disable();
	if (unlikely(__this_cpu_read(gwmark_xmit_depth) >=
		     GWMARK_XMIT_DEPTH_MAX)) {
		local_bh_enable();
		kfree_skb(skb);
		return GWMARK_XMIT_LOST;
	}
	__this_cpu_inc(gwmark_xmit_depth);
	rc = dev_queue_xmit(skb);
	__this_cpu_dec(gwmark_xmit_depth);
	local_bh_enable();

	return net_xmit_eval(rc) ? GWMARK_XMIT_LOST : GWMARK_XMIT_SENT;
}

/*
 * A family's fragmenter: the next fragment of @skb (or an ERR_PTR), @state
 * being that family's state, which counts the bytes left.
 */
typedef struct sk_buff *(*gwmark_frag_next_t)(struct sk_buff *skb, void *state);

/*
 * Send @skb as the fragments @next cuts, each through gwmark_xmit_frame(),
 * until *@left (in @state) is 0. Consumes @skb. Any fragment lost loses the
 * datagram, as in ip_do_fragment().
 */
static enum gwmark_xmit_result gwmark_xmit_frag_send(struct sk_buff *skb,
						     const struct gwmark_xmit_to *to,
						     __be16 proto,
						     gwmark_frag_next_t next,
						     void *state,
						     const unsigned int *left)
{
	enum gwmark_xmit_result res = GWMARK_XMIT_SENT;
	struct sk_buff *frag;

	while (*left > 0) {
		frag = next(skb, state);
		if (IS_ERR(frag)) {
			res = GWMARK_XMIT_LOST;
			break;
		}
		switch (gwmark_xmit_frame(frag, to, proto)) {
		case GWMARK_XMIT_SENT:
			break;
		case GWMARK_XMIT_DROP:
			kfree_skb(frag);
			fallthrough;
		default:
			res = GWMARK_XMIT_LOST;
		}
	}
	if (res == GWMARK_XMIT_SENT)
		consume_skb(skb);
	else
		kfree_skb(skb);
	return res;
}

/*
 * RFC 791: an option without the "copied" flag goes in the first fragment
 * only. Once that fragment is cut, the ones in @skb's header (which the later
 * fragments copy) become no-operations, as ip_options_fragment() does them
 * inside ip_do_fragment(); ip_frag_next() alone leaves them. The walk stops
 * at a malformed option: the list came in so and is left so.
 */
static void gwmark_frag4_strip_options(struct sk_buff *skb)
{
	u8 *opt = skb_network_header(skb) + sizeof(struct iphdr);
	int left = ip_hdrlen(skb) - sizeof(struct iphdr);
	int len;

	while (left > 0 && *opt != IPOPT_END) {
		if (*opt == IPOPT_NOOP) {
			opt++;
			left--;
			continue;
		}
		if (left < 2)
			break;
		len = opt[1];
		if (len < 2 || len > left)
			break;
		if (!IPOPT_COPIED(*opt))
			memset(opt, IPOPT_NOOP, len);
		opt += len;
		left -= len;
	}
}

/**
 * struct gwmark_frag4 - the IPv4 fragmenter's state
 * @state:     ip_frag_next()'s
 * @strip_options: the datagram starts here (offset 0) and has options: strip
 *             the not-copied ones after the first fragment
 */
struct gwmark_frag4 {
	struct ip_frag_state state;
	bool strip_options;
};

static struct sk_buff *gwmark_frag4_next(struct sk_buff *skb, void *arg)
{
	struct gwmark_frag4 *f = arg;
	struct sk_buff *frag = ip_frag_next(skb, &f->state);

	if (!IS_ERR(frag) && f->strip_options) {
		gwmark_frag4_strip_options(skb);
		f->strip_options = false;
	}
	return frag;
}

static struct sk_buff *gwmark_frag6_next(struct sk_buff *skb, void *arg)
{
	return ip6_frag_next(skb, arg);
}

/*
 * Send an IPv4 packet as fragments that fit the output MTU and, for a
 * datagram conntrack reassembled, the largest fragment received (IPCB
 * frag_max_size), with the kernel's own fragmenter (ip_frag_init()/
 * ip_frag_next(), which need no route, as the bridge's conntrack uses
 * them). IP options go into every fragment, except, after the first, those
 * without the copied flag (RFC 791). DF is kept on the fragments when every
 * received fragment had it (IPSKB_FRAG_PMTU). Consumes @skb once it has
 * started.
 */
static enum gwmark_xmit_result gwmark_xmit_fragments4(struct sk_buff *skb,
						      const struct gwmark_xmit_to *to,
						      __be16 proto)
{
	unsigned int hlen = ip_hdrlen(skb);
	unsigned int mtu = to->dev->mtu;
	struct gwmark_frag4 f;

	if (IPCB(skb)->frag_max_size && IPCB(skb)->frag_max_size < mtu)
		mtu = IPCB(skb)->frag_max_size;
	if (mtu < hlen + 8)
		return GWMARK_XMIT_DROP;
	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		return GWMARK_XMIT_DROP;
	/* The options are rewritten in place: a private, linear header. */
	if (skb_ensure_writable(skb, skb_network_offset(skb) + hlen))
		return GWMARK_XMIT_DROP;

	f.strip_options = hlen > sizeof(struct iphdr) &&
			  !(ip_hdr(skb)->frag_off & htons(IP_OFFSET));
	ip_frag_init(skb, hlen, LL_RESERVED_SPACE(to->dev), mtu - hlen,
		     IPCB(skb)->flags & IPSKB_FRAG_PMTU, &f.state);
	return gwmark_xmit_frag_send(skb, to, proto, gwmark_frag4_next, &f,
				     &f.state.left);
}

/*
 * Send an IPv6 datagram that conntrack reassembled as fragments no larger
 * than the largest one received (IP6CB frag_max_size), as ip6_fragment()
 * would, with the kernel's own fragmenter (ip6_frag_init()/ip6_frag_next(),
 * which need no route) and a fresh fragment id. Consumes @skb once it has
 * started.
 */
static enum gwmark_xmit_result gwmark_xmit_fragments6(struct sk_buff *skb,
						      const struct gwmark_xmit_to *to,
						      __be16 proto)
{
	unsigned int mtu = IP6CB(skb)->frag_max_size;
	struct net_device *dev = to->dev;
	struct ip6_frag_state state;
	__be32 frag_id;
	u8 *prevhdr;
	int hlen;

	/* Before prevhdr is taken: this may move the header. */
	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		return GWMARK_XMIT_DROP;
	hlen = ip6_find_1stfragopt(skb, &prevhdr);
	if (hlen < 0 || mtu < hlen + sizeof(struct frag_hdr) + 8 ||
	    mtu > dev->mtu)
		return GWMARK_XMIT_DROP;
	frag_id = ipv6_select_ident(dev_net(dev), &ipv6_hdr(skb)->daddr,
				    &ipv6_hdr(skb)->saddr);
	ip6_frag_init(skb, hlen, mtu - hlen - sizeof(struct frag_hdr),
		      dev->needed_tailroom, LL_RESERVED_SPACE(dev), prevhdr,
		      *prevhdr, frag_id, &state);
	return gwmark_xmit_frag_send(skb, to, proto, gwmark_frag6_next, &state,
				     &state.left);
}

/**
 * gwmark_xmit() - send a packet to @to->daddr out of @to->dev
 * @skb:        the packet, network header at skb->data; passed
 *              gwmark_xmit_check()
 * @pf:         NFPROTO_IPV4 or NFPROTO_IPV6
 * @to:         device (under RCU), MACs and VLAN tag
 * @clear_mask: mark bits to clear, so that the packet cannot select the
 *              fast path again if it comes back into this namespace
 * @forward:    decrement TTL/hop limit and drop receive-side state
 *
 * The old link-layer header is never reused (a packet from a TUN device has
 * none, one from a TAP device has the peer's): a new one is built with
 * @to->saddr or the device's own source address. A packet stolen in the
 * middle of bridging loses its br_netfilter state, so that a bridge it is
 * sent to treats it as locally sent. Checksum offload and GSO state pass
 * through to dev_queue_xmit(), which segments or finishes checksums for
 * devices that cannot.
 *
 * Return: see enum gwmark_xmit_result.
 */
enum gwmark_xmit_result gwmark_xmit(struct sk_buff *skb, u8 pf,
				    const struct gwmark_xmit_to *to,
				    u32 clear_mask, bool forward)
{
	__be16 proto = pf == NFPROTO_IPV4 ? htons(ETH_P_IP) : htons(ETH_P_IPV6);
	struct net_device *dev = to->dev;

	if (skb_cow_head(skb, LL_RESERVED_SPACE(dev)))
		return GWMARK_XMIT_DROP;
	if (forward && gwmark_xmit_forward(skb, pf))
		return GWMARK_XMIT_DROP;

	skb_dst_drop(skb);
	nf_reset_ct(skb);
	gwmark_bridge_info_drop(skb);
	skb->mark &= ~clear_mask;
	if (to->fragment)
		return pf == NFPROTO_IPV4 ?
		       gwmark_xmit_fragments4(skb, to, proto) :
		       gwmark_xmit_fragments6(skb, to, proto);
	return gwmark_xmit_frame(skb, to, proto);
}
