// Keel native: shared libraries of generated fused kernels (see codegen.cc).
#ifndef KEEL_NATIVE_CODEGEN_H_
#define KEEL_NATIVE_CODEGEN_H_

#include <string>

#include "fused.h"

namespace keel {

/** Opens a library of generated kernels (never closed: its kernels live as long as the process). */
void* codegen_open(const char* path, std::string* err);

/** The generated kernel `name` of an open library; nullptr (and err) when it has none. */
GeneratedKernel codegen_symbol(void* lib, const char* name, std::string* err);

}  // namespace keel

#endif  // KEEL_NATIVE_CODEGEN_H_
