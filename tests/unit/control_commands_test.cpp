// The control socket's command table: each command reaches its source, in its format; others are refused.
#include <gtest/gtest.h>

#include <string>

#include "control/commands.hpp"

using namespace wirebridge::control;

namespace {

struct Calls {
    int status = 0, flows_text = 0, flows_json = 0;
};

CommandSources sources(Calls& c) {
    CommandSources s;
    s.status = [&c] {
        ++c.status;
        Status st;
        st.site = "hub";
        st.role = "server";
        return st;
    };
    s.flows_text = [&c] {
        ++c.flows_text;
        return std::string("flows-text\n");
    };
    s.flows_json = [&c] {
        ++c.flows_json;
        return std::string("{\"flows\":[]}\n");
    };
    return s;
}

}  // namespace

TEST(ControlCommands, StatusInThreeFormats) {
    Calls c;
    const CommandSources s = sources(c);
    const std::string text = answer_command("status", s);
    const std::string json = answer_command("status json", s);
    const std::string prom = answer_command("status prometheus", s);
    EXPECT_EQ(c.status, 3);
    EXPECT_EQ(c.flows_text + c.flows_json, 0);
    EXPECT_NE(text.find("hub"), std::string::npos);
    EXPECT_EQ(json.rfind("{", 0), 0u);
    EXPECT_NE(json.find("\"site\":\"hub\""), std::string::npos);
    EXPECT_NE(prom.find("wirebridge_"), std::string::npos);
    EXPECT_NE(text, json);
}

TEST(ControlCommands, FlowsReachTheirSource) {
    Calls c;
    const CommandSources s = sources(c);
    EXPECT_EQ(answer_command("flows", s), "flows-text\n");
    EXPECT_EQ(answer_command("flows json", s), "{\"flows\":[]}\n");
    EXPECT_EQ(c.flows_text, 1);
    EXPECT_EQ(c.flows_json, 1);
    EXPECT_EQ(c.status, 0);
}

TEST(ControlCommands, UnknownIsRefusedWithTheList) {
    Calls c;
    const CommandSources s = sources(c);
    const std::string a = answer_command("status xml", s);
    EXPECT_EQ(a.rfind("error: unknown command 'status xml'", 0), 0u);
    EXPECT_NE(a.find("flows json"), std::string::npos);
    EXPECT_EQ(c.status + c.flows_text + c.flows_json, 0);
}
