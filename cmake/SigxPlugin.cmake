# sigx_add_plugin(NAME SOURCES src... [LINK targets...] [TORCH] [ALLOW_UNDEFINED])
#
# Builds a sigx plugin library: a MODULE named sigx_<NAME>.so with hidden visibility (only
# the registration record is exported), linked against the SDK (and LibTorch with TORCH),
# placed in SIGX_PLUGIN_OUTPUT_DIR when set and installed to SIGX_PLUGIN_INSTALL_DIR.
# Undefined symbols are an error at link time unless ALLOW_UNDEFINED is given.
function(sigx_add_plugin name)
  cmake_parse_arguments(ARG "ALLOW_UNDEFINED;TORCH" "" "SOURCES;LINK" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "sigx_add_plugin(${name}): SOURCES is required")
  endif()
  set(target sigx_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE sigx::sdk ${ARG_LINK})
  if(ARG_TORCH)
    if(NOT TARGET torch)
      find_package(Torch REQUIRED)
    endif()
    target_link_libraries(${target} PRIVATE torch)
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "sigx_${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED SIGX_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${SIGX_PLUGIN_OUTPUT_DIR}")
  endif()
  # Sanitizer runtimes are resolved from the executable at load time, not at link time.
  if(NOT ARG_ALLOW_UNDEFINED AND NOT SIGX_SANITIZE)
    target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  endif()
  if(DEFINED SIGX_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION "${SIGX_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
