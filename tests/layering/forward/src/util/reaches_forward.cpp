// Breaks the rule: util reaches forward into model.
#include "mbuild/model/model.hpp"
