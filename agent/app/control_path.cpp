// Resolving NAME, -c FILE or nothing to the control socket of one running agent.
#include "app/control_path.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "config/loader.hpp"

namespace wirebridge::app {

namespace {

bool is_socket(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// Only the socket's path is wanted: the keys a config names may be unreadable to the caller.
Result<std::string> socket_of(const std::string& file) {
    config::LoadOptions o;
    o.check_system = false;
    const auto loaded = config::load_config(file, o);
    if (!loaded.ok()) {
        std::string all;
        for (const auto& e : loaded.errors) all += (all.empty() ? "" : "\n") + e.to_string();
        return fail(all);
    }
    return loaded.config->control.socket;
}

}  // namespace

Result<std::string> find_control_socket(const Command& c, const ControlPlaces& places) {
    if (!c.socket.empty()) return c.socket;
    if (!c.config_file.empty()) return socket_of(c.config_file);
    if (!c.instance.empty()) {
        if (c.instance.find('/') != std::string::npos || c.instance == "." || c.instance == "..")
            return fail("'" + c.instance + "' is not an instance name (use -c FILE or --socket PATH for paths)");
        const std::string file = places.config_dir + "/" + c.instance + ".yaml";
        std::error_code ec;
        if (std::filesystem::exists(file, ec)) return socket_of(file);
        return places.runtime_dir + "/" + c.instance + "/control.sock";
    }
    // No name: fine while one agent runs here; with several, say which there are.
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator(places.runtime_dir, ec))
        if (is_socket((d.path() / "control.sock").string())) names.push_back(d.path().filename().string());
    std::sort(names.begin(), names.end());
    const std::string shared = places.runtime_dir + "/control.sock";  // an agent configured so by hand
    if (names.empty() && is_socket(shared)) return shared;
    if (names.size() == 1) return places.runtime_dir + "/" + names[0] + "/control.sock";
    if (names.empty())
        return fail("no running wirebridge found under " + places.runtime_dir +
                    " (name one: wirebridge status NAME, -c FILE or --socket PATH)");
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return fail("several wirebridge agents run here (" + list + "): name one, e.g. wirebridge status " + names[0]);
}

}  // namespace wirebridge::app
