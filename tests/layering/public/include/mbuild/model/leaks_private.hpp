// Breaks the rule: a public header includes a private one.
#include "util/checked.hpp"
