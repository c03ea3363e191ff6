// A pipeline's wiring as Graphviz DOT: the generator feeds every model (training and test
// records) and every evaluator (references); trainers fit their models; models feed
// the evaluators.
#pragma once

#include <sigx/host/pipeline.hpp>

#include <string>

namespace sigx::host {

std::string pipeline_dot(const Pipeline& p);

}  // namespace sigx::host
