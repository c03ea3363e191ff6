// Everything a plugin author needs: the plugin kinds, data types, parameters, host
// services, safe file writing, saved state read as data (StateText, named arrays) and the
// SIGX_PLUGIN registration macro.
#pragma once

#include <sigx/abi.hpp>
#include <sigx/arrays.hpp>
#include <sigx/files.hpp>
#include <sigx/host.hpp>
#include <sigx/params.hpp>
#include <sigx/plugin.hpp>
#include <sigx/record.hpp>
#include <sigx/register.hpp>  // plugins only
#include <sigx/stream.hpp>
#include <sigx/version.hpp>
