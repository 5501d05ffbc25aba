// Breaks the rule: the CLI uses a private header of the library.
#include "util/checked.hpp"
