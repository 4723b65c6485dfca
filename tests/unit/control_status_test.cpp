// Status rendering of the hub's per-peer fields: MACs with VLAN and age, peer-id, drops, reloads.
#include <gtest/gtest.h>

#include "control/prometheus.hpp"
#include "control/status.hpp"

using namespace wirebridge::control;

namespace {

Status hub() {
    Status s;
    s.site = "hub";
    s.role = "server";
    PeerStatus p;
    p.name = "site-b";
    p.peer_id = 3;
    p.real_address = "172.31.99.2:40000";
    p.virtual_address = "10.200.0.3";
    p.macs = {"02:00:00:00:00:01"};
    p.mac_entries = {MacStatus{"02:00:00:00:00:01", 20, 12}};
    p.vlan = 20;
    p.cipher = "AES-256-GCM";
    p.key_id = 1;
    p.key_age_seconds = 42;
    p.connected_seconds = 99;
    p.last_heard_seconds = 2;
    p.handshakes = 3;
    p.drops["mac_limit"] = 4;
    s.peers.push_back(p);
    s.drops["mac_limit"] = 4;
    s.drops["vlan_untagged"] = 1;
    s.reloads = 2;
    s.last_reload = "reloaded: tunnel.client_to_client false -> true";
    return s;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(StatusRendering, JsonCarriesTheHubFields) {
    const std::string j = to_json(hub());
    EXPECT_TRUE(has(j, R"("peer_id":3)")) << j;
    EXPECT_TRUE(has(j, R"("vlan":20,"connected_seconds":99,"last_heard_seconds":2,"handshakes":3,)")) << j;
    EXPECT_TRUE(has(j, R"("mac_entries":[{"mac":"02:00:00:00:00:01","vlan":20,"age_seconds":12}])")) << j;
    EXPECT_TRUE(has(j, R"("key_age_seconds":42)")) << j;
    EXPECT_TRUE(has(j, R"("drops":{"mac_limit":4}})")) << j;  // the peer's own, closing the peer
    EXPECT_TRUE(has(j, R"("drops":{"mac_limit":4,"vlan_untagged":1},"reloads":2)")) << j;
    EXPECT_TRUE(has(j, R"("last_reload":"reloaded: tunnel.client_to_client false -> true")")) << j;
}

TEST(StatusRendering, JsonNullsWhenAbsent) {
    Status s;
    s.role = "client";
    s.peers.push_back(PeerStatus{});
    const std::string j = to_json(s);
    EXPECT_TRUE(has(j, R"("peer_id":null,"vlan":null)")) << j;
    EXPECT_TRUE(has(j, R"("last_heard_seconds":null,"handshakes":0,)")) << j;
    EXPECT_TRUE(has(to_text(s), "  peer -: connecting, never heard\n")) << to_text(s);
    EXPECT_TRUE(has(j, R"("mac_entries":[],"drops":{}})")) << j;
    EXPECT_TRUE(has(j, R"("reloads":0,"last_reload":"")")) << j;
}

TEST(StatusRendering, TextShowsMacsWithAgeAndDrops) {
    const std::string t = to_text(hub());
    EXPECT_TRUE(has(t, "  peer site-b (peer-id 3): up, last heard 2 s ago, 3 handshakes\n"
                       "    172.31.99.2:40000  virtual 10.200.0.3  vlan 20  up 99 s")) << t;
    EXPECT_TRUE(has(t, "macs 02:00:00:00:00:01 vlan 20 (12 s)")) << t;
    EXPECT_TRUE(has(t, "    drops mac_limit=4\n")) << t;
    EXPECT_TRUE(has(t, "  drops mac_limit=4 vlan_untagged=1\n")) << t;
    EXPECT_TRUE(has(t, "reloads 2: last reloaded: tunnel.client_to_client false -> true")) << t;
}

TEST(StatusRendering, HubWorkersInJsonAndText) {
    Status s = hub();
    EXPECT_TRUE(has(to_json(s), "\"workers\":[]"));
    EXPECT_FALSE(has(to_text(s), "worker "));
    s.workers.push_back(WorkerStatus{0, 5, 6, 7, 8});
    s.workers.push_back(WorkerStatus{1, 50, 60, 70, 80});
    const std::string j = to_json(s);
    EXPECT_TRUE(has(j, "\"workers\":[{\"index\":0,\"packets_in\":5,\"packets_out\":6,\"frames_from_tap\":7,"
                       "\"frames_to_tap\":8},{\"index\":1,\"packets_in\":50,")) << j;
    const std::string t = to_text(s);
    EXPECT_TRUE(has(t, "  worker 1 (TAP queue 1)  in 50 pkts  out 60 pkts  from TAP 70 frames  to TAP 80 frames\n")) << t;
}

TEST(StatusRendering, PrometheusFamiliesAndLabels) {
    Status s = hub();
    s.uptime_seconds = 7;
    s.peers[0].bytes_in = 1500;
    s.peers[0].last_heard_seconds = 2;
    s.peers[0].handshakes = 3;
    s.drops["replay"] = 5;
    s.drops["tcp_link_full"] = 6;
    s.drops["bad_compression"] = 2;
    s.drops["bad_fragment"] = 3;
    s.fastpath = std::map<std::string, uint64_t>{{"learned", 9}, {"entries", 4}};
    const std::string m = to_prometheus(s);
    EXPECT_TRUE(has(m, "# TYPE wirebridge_peer_receive_bytes_total counter\n"
                       "wirebridge_peer_receive_bytes_total{site=\"hub\",peer=\"site-b\",peer_id=\"3\"} 1500\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_peer_up{site=\"hub\",peer=\"site-b\",peer_id=\"3\"} 1\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_peer_last_heard_seconds{site=\"hub\",peer=\"site-b\",peer_id=\"3\"} 2\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_peer_key_age_seconds{site=\"hub\",peer=\"site-b\",peer_id=\"3\"} 42\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_peer_handshakes_total{site=\"hub\",peer=\"site-b\",peer_id=\"3\"} 3\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_peer_drops_total{site=\"hub\",peer=\"site-b\",peer_id=\"3\",reason=\"mac_limit\"} 4\n")) << m;
    // Data channel and switch reasons go to their own families.
    EXPECT_TRUE(has(m, "wirebridge_data_channel_drops_total{site=\"hub\",reason=\"replay\"} 5\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_switch_drops_total{site=\"hub\",reason=\"vlan_untagged\"} 1\n")) << m;
    EXPECT_FALSE(has(m, "wirebridge_switch_drops_total{site=\"hub\",reason=\"replay\"}")) << m;
    // A TCP link over its hard limit: with the other drops that are not the data channel's.
    EXPECT_TRUE(has(m, "wirebridge_switch_drops_total{site=\"hub\",reason=\"tcp_link_full\"} 6\n")) << m;
    EXPECT_FALSE(has(m, "wirebridge_data_channel_drops_total{site=\"hub\",reason=\"tcp_link_full\"}")) << m;
    // Every data channel drop reason in its family, compression and fragments included.
    EXPECT_TRUE(has(m, "wirebridge_data_channel_drops_total{site=\"hub\",reason=\"bad_compression\"} 2\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_data_channel_drops_total{site=\"hub\",reason=\"bad_fragment\"} 3\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_fastpath_events_total{site=\"hub\",counter=\"learned\"} 9\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_fastpath_flows{site=\"hub\",counter=\"entries\"} 4\n")) << m;
    EXPECT_TRUE(has(m, "wirebridge_uptime_seconds{site=\"hub\"} 7\n")) << m;
    // Every family has HELP and TYPE once, before its samples.
    std::size_t helps = 0, types = 0;
    for (std::size_t at = 0; (at = m.find("# HELP ", at)) != std::string::npos; ++at) ++helps;
    for (std::size_t at = 0; (at = m.find("# TYPE ", at)) != std::string::npos; ++at) ++types;
    EXPECT_EQ(helps, types);
    EXPECT_GT(helps, 10u);
}

TEST(StatusRendering, PrometheusLabelEscapes) {
    EXPECT_EQ(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    Status s;
    s.site = "x";
    s.role = "client";
    const std::string m = to_prometheus(s);
    EXPECT_FALSE(has(m, "wirebridge_peer_up")) << m;  // no peers: no empty family
    EXPECT_TRUE(has(m, "wirebridge_fastpath_loaded{site=\"x\"} 0\n")) << m;
}
