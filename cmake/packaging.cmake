# Packaging: `cmake --build B --target package` makes wirebridge_<version>_amd64.deb (CPack DEB).
#
# The package holds all three parts: the agent (/usr/sbin/wirebridge), the iptables plugin (in
# the xtables dir iptables reads, from pkg-config), and the kernel module as SOURCE under
# /usr/src/xt_GWMARK-<version>/ for DKMS to build against each installed kernel (postinst). Plus
# the systemd template unit, man pages, example configs and docs.
#
# A sanitized (WB_SANITIZE) or fuzzing build is never packaged: cpack refuses it (see
# packaging_check.cmake). Use a release build:
#   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWB_SANITIZE=OFF \
#         -DWB_BUILD_TESTS=OFF -DWB_BUILD_MODULE=OFF
#   cmake --build build/release --target package
set(WB_PKG_DIR ${PROJECT_SOURCE_DIR}/deploy)
set(WB_PKG_STAGE ${PROJECT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${WB_PKG_STAGE})

find_program(WB_GZIP gzip REQUIRED)

# Man pages, gzipped (-n: no name or time stamp, so the bytes depend only on the text).
set(WB_MAN_PAGES)
function(wb_man_page out_name source)
    set(gz ${WB_PKG_STAGE}/${out_name}.gz)
    add_custom_command(OUTPUT ${gz}
        COMMAND ${WB_GZIP} -9 -n -c ${source} > ${gz}
        DEPENDS ${source}
        COMMENT "man page ${out_name}"
        VERBATIM)
    set(WB_MAN_PAGES ${WB_MAN_PAGES} ${gz} PARENT_SCOPE)
endfunction()

configure_file(${WB_PKG_DIR}/debian/wirebridge.8 ${WB_PKG_STAGE}/wirebridge.8 @ONLY)
wb_man_page(wirebridge.8 ${WB_PKG_STAGE}/wirebridge.8)
# The plugin's page: a head of our own around the fragment iptables-extensions(8) would include.
set(WB_XT_FRAGMENT ${PROJECT_SOURCE_DIR}/iptables-ext/libxt_GWMARK.man)
file(READ ${WB_XT_FRAGMENT} WB_XT_FRAGMENT_TEXT)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${WB_XT_FRAGMENT})
configure_file(${WB_PKG_DIR}/debian/xt_GWMARK.8.in ${WB_PKG_STAGE}/xt_GWMARK.8 @ONLY)
wb_man_page(xt_GWMARK.8 ${WB_PKG_STAGE}/xt_GWMARK.8)
# A native package (no Debian revision): its changelog is changelog.gz.
configure_file(${WB_PKG_DIR}/debian/changelog ${WB_PKG_STAGE}/changelog @ONLY)
add_custom_command(OUTPUT ${WB_PKG_STAGE}/changelog.gz
    COMMAND ${WB_GZIP} -9 -n -c ${WB_PKG_STAGE}/changelog > ${WB_PKG_STAGE}/changelog.gz
    DEPENDS ${WB_PKG_STAGE}/changelog
    VERBATIM)
add_custom_target(wb_package_files ALL DEPENDS ${WB_MAN_PAGES} ${WB_PKG_STAGE}/changelog.gz)

install(FILES ${WB_PKG_STAGE}/wirebridge.8.gz ${WB_PKG_STAGE}/xt_GWMARK.8.gz DESTINATION share/man/man8)

# DKMS source tree: the module's Kbuild and sources, the shared ABI header where Kbuild looks
# for it (./include), dkms.conf with the version filled in. Build leftovers (*.mod.c) are not
# sources.
set(WB_DKMS_NAME xt_GWMARK)
set(WB_DKMS_SRC /usr/src/${WB_DKMS_NAME}-${PROJECT_VERSION})
file(GLOB WB_MODULE_SOURCES ${PROJECT_SOURCE_DIR}/netfilter-module/*.c ${PROJECT_SOURCE_DIR}/netfilter-module/*.h)
list(FILTER WB_MODULE_SOURCES EXCLUDE REGEX "\\.mod\\.c$")
configure_file(${WB_PKG_DIR}/dkms/dkms.conf ${WB_PKG_STAGE}/dkms.conf @ONLY)
install(FILES ${PROJECT_SOURCE_DIR}/netfilter-module/Kbuild ${WB_MODULE_SOURCES} ${WB_PKG_STAGE}/dkms.conf
        DESTINATION ${WB_DKMS_SRC})
install(FILES ${PROJECT_SOURCE_DIR}/include/xt_GWMARK.h DESTINATION ${WB_DKMS_SRC}/include)

# Debian 12 ships units under /lib/systemd/system (merged /usr or not).
install(FILES ${WB_PKG_DIR}/systemd/wirebridge@.service DESTINATION /lib/systemd/system)

set(WB_DOC share/doc/wirebridge)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/DEPLOY.md
              ${WB_PKG_DIR}/debian/copyright ${WB_PKG_STAGE}/changelog.gz
        DESTINATION ${WB_DOC})
install(FILES ${WB_PKG_DIR}/examples/README.md ${WB_PKG_DIR}/examples/hub.yaml ${WB_PKG_DIR}/examples/site.yaml
        DESTINATION ${WB_DOC}/examples)
install(PROGRAMS ${WB_PKG_DIR}/examples/make-pki.sh DESTINATION ${WB_DOC}/examples)
# Operations: bash completion, the Grafana dashboard over `wirebridge status --prometheus`.
install(FILES ${WB_PKG_DIR}/bash-completion/wirebridge DESTINATION share/bash-completion/completions)
install(FILES ${WB_PKG_DIR}/grafana/wirebridge.json DESTINATION ${WB_DOC}/grafana)

# Maintainer scripts: DKMS add/build/install and systemd reload.
foreach(script postinst prerm postrm)
    configure_file(${WB_PKG_DIR}/debian/${script} ${WB_PKG_STAGE}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                    WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wirebridge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "wirebridge")
set(CPACK_PACKAGE_CONTACT "wirebridge maintainers <maintainers@users.noreply.h-seed-0fa1c279.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "transparent bump-in-the-wire VPN appliance, OpenVPN-compatible")
# The synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the long text (CPack indents it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "wirebridge joins a LAN to remote sites through an OpenVPN-compatible TAP
tunnel from a box placed inline between the LAN and its router, with one
address and no routes. The package holds the daemon and CLI (wirebridge),
the GWMARK iptables target (libxt_GWMARK.so) and the source of the
xt_GWMARK kernel module, which DKMS builds for each installed kernel.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# shlibdeps finds the libraries the binaries link (libssl3, libyaml-cpp0.7, libmnl0, libxtables12,
# libnetfilter-*, libstdc++6, libc6); these are used without being linked.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "iptables")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dkms, linux-headers-amd64 | linux-headers-generic")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${WB_PKG_STAGE}/postinst ${WB_PKG_STAGE}/prerm ${WB_PKG_STAGE}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# Read by cpack itself (packaging_check.cmake) to refuse a sanitized build.
set(CPACK_WB_SANITIZE ${WB_SANITIZE})
set(CPACK_WB_FUZZ ${WB_FUZZ})
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/packaging_check.cmake)
include(CPack)
