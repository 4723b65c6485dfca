# Read by cpack before it packages anything: a sanitized or fuzzing build is never packaged.
if(CPACK_WB_SANITIZE OR CPACK_WB_FUZZ)
    message(FATAL_ERROR "wirebridge: refusing to package this build: it is built with WB_SANITIZE or WB_FUZZ "
                        "(ASan/UBSan/libFuzzer binaries are for tests only). Package a release build: "
                        "cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWB_SANITIZE=OFF "
                        "-DWB_BUILD_TESTS=OFF -DWB_BUILD_MODULE=OFF && cmake --build build/release --target package")
endif()
