// Loading the shared libraries of generated fused kernels (src/backend/cpu/kernel-compiler.ts
// compiles them with the system C++ compiler): dlopen and dlsym, with the loader's message on failure.
#include "codegen.h"

#include <dlfcn.h>

namespace keel {

void* codegen_open(const char* path, std::string* err) {
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) *err = dlerror();
  return lib;
}

GeneratedKernel codegen_symbol(void* lib, const char* name, std::string* err) {
  dlerror();
  void* sym = dlsym(lib, name);
  if (!sym) {
    const char* msg = dlerror();
    *err = msg ? msg : "symbol is null";
  }
  return reinterpret_cast<GeneratedKernel>(sym);
}

}  // namespace keel
