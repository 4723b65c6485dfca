// Where `wirebridge status` and `flows` find a running agent's control socket.
#pragma once

#include <string>

#include "app/cli.hpp"
#include "common/result.hpp"

namespace wirebridge::app {

// The folders an installed agent uses; tests give their own.
struct ControlPlaces {
    std::string config_dir = "/etc/wirebridge";   // NAME.yaml, one per systemd instance
    std::string runtime_dir = "/run/wirebridge";  // NAME/control.sock, one per site
};

// --socket PATH as given; -c FILE: the socket FILE names; NAME: the socket of
// config_dir/NAME.yaml if that file exists, else runtime_dir/NAME/control.sock; nothing: the one
// agent under runtime_dir (an error naming them when there are several, or none).
Result<std::string> find_control_socket(const Command& c, const ControlPlaces& places = {});

}  // namespace wirebridge::app
