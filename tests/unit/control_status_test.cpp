// Status rendering of the hub's per-peer fields: MACs with VLAN and age, peer-id, drops, reloads.
#include <gtest/gtest.h>

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
    EXPECT_TRUE(has(j, R"("vlan":20,"connected_seconds":99)")) << j;
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
    EXPECT_TRUE(has(j, R"("mac_entries":[],"drops":{}})")) << j;
    EXPECT_TRUE(has(j, R"("reloads":0,"last_reload":"")")) << j;
}

TEST(StatusRendering, TextShowsMacsWithAgeAndDrops) {
    const std::string t = to_text(hub());
    EXPECT_TRUE(has(t, "peer site-b (peer-id 3)  172.31.99.2:40000  virtual 10.200.0.3  vlan 20  up 99 s")) << t;
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
