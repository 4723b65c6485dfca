# What `cmake --install` puts where (under CMAKE_INSTALL_PREFIX, /usr for the Debian packages,
# which debian/rules builds with debhelper: dpkg-buildpackage -us -uc -b). debian/*.install
# splits it between the packages: wirebridge (agent, iptables plugin, unit, man pages, docs) and
# wirebridge-dkms (the module source, for DKMS to build on the target).
#
# The agent (sbin/wirebridge) and the iptables plugin (the xtables dir iptables reads, from
# pkg-config) install themselves (agent/app, iptables-ext).
set(WB_DEPLOY_DIR ${PROJECT_SOURCE_DIR}/deploy)
set(WB_MAN_STAGE ${PROJECT_BINARY_DIR}/man)
file(MAKE_DIRECTORY ${WB_MAN_STAGE})

# Man pages, with the version filled in (the packaging compresses them).
configure_file(${WB_DEPLOY_DIR}/man/wirebridge.8.in ${WB_MAN_STAGE}/wirebridge.8 @ONLY)
# The plugin's page: a head of our own around the fragment iptables-extensions(8) would include.
set(WB_XT_FRAGMENT ${PROJECT_SOURCE_DIR}/iptables-ext/libxt_GWMARK.man)
file(READ ${WB_XT_FRAGMENT} WB_XT_FRAGMENT_TEXT)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${WB_XT_FRAGMENT})
configure_file(${WB_DEPLOY_DIR}/man/xt_GWMARK.8.in ${WB_MAN_STAGE}/xt_GWMARK.8 @ONLY)
install(FILES ${WB_MAN_STAGE}/wirebridge.8 ${WB_MAN_STAGE}/xt_GWMARK.8 DESTINATION share/man/man8)
# wirebridge.yaml(5) is generated from docs/CONFIG.md, its one source (deploy/man/config2man;
# tests/deploy/manpage.sh checks that they agree).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
    set(WB_CONFIG_MAN ${WB_MAN_STAGE}/wirebridge.yaml.5)
    add_custom_command(OUTPUT ${WB_CONFIG_MAN}
        COMMAND ${Python3_EXECUTABLE} ${WB_DEPLOY_DIR}/man/config2man ${PROJECT_SOURCE_DIR}/docs/CONFIG.md
                ${PROJECT_VERSION} > ${WB_CONFIG_MAN}
        DEPENDS ${WB_DEPLOY_DIR}/man/config2man ${PROJECT_SOURCE_DIR}/docs/CONFIG.md
        COMMENT "man page wirebridge.yaml(5) from docs/CONFIG.md"
        VERBATIM)
    add_custom_target(wb_config_man ALL DEPENDS ${WB_CONFIG_MAN})
    install(FILES ${WB_CONFIG_MAN} DESTINATION share/man/man5)
else()
    message(STATUS "python3 not found: wirebridge.yaml(5) is not made (docs/CONFIG.md is the same text)")
endif()

# The kernel module's source for DKMS: Kbuild and sources, the shared ABI header where Kbuild
# looks for it (./include). dkms.conf (deploy/dkms/dkms.conf) is added by dh_dkms, or by
# deploy/dkms/install from a checkout. Build leftovers (*.mod.c) are not sources.
set(WB_DKMS_SRC src/xt_GWMARK-${PROJECT_VERSION})
file(GLOB WB_MODULE_SOURCES ${PROJECT_SOURCE_DIR}/netfilter-module/*.c ${PROJECT_SOURCE_DIR}/netfilter-module/*.h)
list(FILTER WB_MODULE_SOURCES EXCLUDE REGEX "\\.mod\\.c$")
install(FILES ${PROJECT_SOURCE_DIR}/netfilter-module/Kbuild ${WB_MODULE_SOURCES} DESTINATION ${WB_DKMS_SRC})
install(FILES ${PROJECT_SOURCE_DIR}/include/xt_GWMARK.h DESTINATION ${WB_DKMS_SRC}/include)

# Debian 12 ships units under /lib/systemd/system (merged /usr or not).
install(FILES ${WB_DEPLOY_DIR}/systemd/wirebridge@.service DESTINATION /lib/systemd/system)

# The documentation, readable offline.
set(WB_DOC share/doc/wirebridge)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/DEPLOY.md
              ${PROJECT_SOURCE_DIR}/docs/CONFIG.md ${PROJECT_SOURCE_DIR}/docs/CONTROL.md
              ${PROJECT_SOURCE_DIR}/docs/ROUTELESS.md ${PROJECT_SOURCE_DIR}/docs/INLINE.md
              ${PROJECT_SOURCE_DIR}/docs/SECURITY.md
        DESTINATION ${WB_DOC})
install(FILES ${WB_DEPLOY_DIR}/examples/README.md ${WB_DEPLOY_DIR}/examples/hub.yaml
              ${WB_DEPLOY_DIR}/examples/site.yaml ${WB_DEPLOY_DIR}/examples/inline.yaml
        DESTINATION ${WB_DOC}/examples)
install(PROGRAMS ${WB_DEPLOY_DIR}/examples/make-pki.sh DESTINATION ${WB_DOC}/examples)
# Operations: bash completion, the Grafana dashboard over the agent's Prometheus metrics.
install(FILES ${WB_DEPLOY_DIR}/bash-completion/wirebridge DESTINATION share/bash-completion/completions)
install(FILES ${WB_DEPLOY_DIR}/grafana/wirebridge.json DESTINATION ${WB_DOC}/grafana)
