# llama-cpp-python's build cut to what its Python bindings load (libllama and libggml*), for the
# Makefile: CMake includes this file right after llama.cpp's own project() call, through
# -DCMAKE_PROJECT_llama.cpp_INCLUDE=<this file> in CMAKE_ARGS.
#
# llama-cpp-python forces LLAMA_BUILD_COMMON on: the common library of llama.cpp's own programs
# (argument parsing, chat templates, downloads, cpp-httplib), about 30 % of the compile, which no
# module of the Python package loads. A plain variable set here, in llama.cpp's directory scope,
# takes precedence over that cached value, so llama.cpp's option() sees it off.
set(LLAMA_BUILD_COMMON OFF)
