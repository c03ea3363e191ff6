// A valid shared library that is no sigx plugin: it exports no sigx_plugin_library.
extern "C" __attribute__((visibility("default"))) int sigx_test_not_a_plugin_answer() { return 42; }
