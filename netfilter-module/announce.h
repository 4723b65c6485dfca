/* SPDX-License-Identifier: GPL-2.0 */
/*
 * announce.h - following gateways that move (announce.c).
 */
#ifndef _GWMARK_ANNOUNCE_H
#define _GWMARK_ANNOUNCE_H

#include <linux/netfilter.h>
#include <linux/skbuff.h>

#include "gwmark.h"

int gwmark_announce_init(struct gwmark_net *gn);
void gwmark_announce_exit(struct gwmark_net *gn);
unsigned int gwmark_announce_arp(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state);
void gwmark_announce_nd(struct gwmark_net *gn, const struct sk_buff *skb);

#endif /* _GWMARK_ANNOUNCE_H */
