# llama-cpp-python's build for the Makefile, cut to what its Python bindings load (libllama and
# libggml*) and safe on the machines we build on. CMake includes this file right after llama.cpp's
# own project() call, through -DCMAKE_PROJECT_llama.cpp_INCLUDE=<this file> in CMAKE_ARGS.

# llama-cpp-python forces LLAMA_BUILD_COMMON on: the common library of llama.cpp's own programs
# (argument parsing, chat templates, downloads, cpp-httplib), which no module of the Python package
# loads. A plain variable set here, in llama.cpp's directory scope, takes precedence over that cached
# value, so llama.cpp's option() sees it off.
set(LLAMA_BUILD_COMMON OFF)

# -march=native without AMX: on the project's 2-core VMs the CPU reports AMX (and the kernel grants
# it) but the first tile instruction (ldtilecfg in ggml's AMX matmul) faults, killing the process on
# the first token. Every other feature of the CPU (AVX-512, VNNI, ...) is kept.
include(CheckCCompilerFlag)
check_c_compiler_flag("-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" LLAMA_CPP_CAN_DISABLE_AMX)
if (LLAMA_CPP_CAN_DISABLE_AMX)
    string(APPEND CMAKE_C_FLAGS " -mno-amx-tile -mno-amx-int8 -mno-amx-bf16")
    string(APPEND CMAKE_CXX_FLAGS " -mno-amx-tile -mno-amx-int8 -mno-amx-bf16")
endif()
