# The C++ dialect, the default build type and the warning flags, shared by the whole project
# (CMakeLists.txt) and by engine/predict when it is built on its own (the GPU machines: CMake and
# CUDA, no Qt), so that both compile the predict stage the same way.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "" FORCE)
endif()

option(KNEE_WERROR "Treat compiler warnings as errors (CI turns this on)" OFF)
add_compile_options(-Wall -Wextra)
if(KNEE_WERROR)
  add_compile_options(-Werror)
endif()
