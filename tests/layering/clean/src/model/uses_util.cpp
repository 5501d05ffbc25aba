// Keeps the rule: model uses util.
#include "mbuild/util/error.hpp"
#include "util/checked.hpp"
