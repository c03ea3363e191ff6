// Catch2's main() lives alone here so that editing a test never recompiles it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
