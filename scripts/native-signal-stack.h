// Added to @tensorflow/tfjs-node's binding by scripts/native.mjs (not part of the package).
//
// Why: oneDNN 3.7.3, which TensorFlow 2.21 carries, points the stack register
// (rsp) at a heap buffer while its generated f32 GEMM kernels run
// (sgemm_nocopy_driver of jit_avx_gemm_f32 / jit_avx512_common_gemm_f32;
// oneDNN issue 4845, fixed in oneDNN 3.11.2). A signal that arrives in that
// window has its frame pushed onto that "stack", i.e. over the heap, and the
// next free() aborts ("corrupted size vs. prev_size"). `node --cpu-prof` sends
// SIGPROF to each JavaScript thread every millisecond, and those threads run
// TensorFlow's kernels themselves, so profiled fits crashed.
//
// The fix: give each JavaScript thread that loads the binding an alternate
// signal stack. V8's SIGPROF handler is installed with SA_ONSTACK, so the
// kernel then builds the signal frame there, whatever rsp holds; the rest of
// the thread's signal handling is unchanged. Where a handler lacks SA_ONSTACK
// (another profiler, say), the flag is added to SIGPROF's handler too.
#ifndef LAPLACE_SIGNAL_STACK_H_
#define LAPLACE_SIGNAL_STACK_H_

#include <node_api.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace laplace_signal_stack {

struct OwnedStack {
  void *memory;
};

// On the thread's exit (its Node environment's cleanup), take the stack down again.
static void Release(void *arg) {
  OwnedStack *owned = static_cast<OwnedStack *>(arg);
  stack_t current;
  if (sigaltstack(nullptr, &current) == 0 && current.ss_sp == owned->memory && !(current.ss_flags & SS_ONSTACK)) {
    stack_t disable;
    memset(&disable, 0, sizeof disable);
    disable.ss_flags = SS_DISABLE;
    if (sigaltstack(&disable, nullptr) == 0) free(owned->memory);
  }
  delete owned;
}

// SIGPROF's handler runs on the alternate stack only if it was installed with SA_ONSTACK.
static void EnsureProfilerHandlerOnStack() {
  struct sigaction action;
  if (sigaction(SIGPROF, nullptr, &action) != 0) return;
  const bool hasHandler = (action.sa_flags & SA_SIGINFO) ? action.sa_sigaction != nullptr
                                                         : (action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN);
  if (!hasHandler || (action.sa_flags & SA_ONSTACK)) return;
  action.sa_flags |= SA_ONSTACK;
  sigaction(SIGPROF, &action, nullptr);
}

// Give the calling thread an alternate signal stack unless it has one already.
static void Install(napi_env env) {
  EnsureProfilerHandlerOnStack();
  stack_t current;
  if (sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return;
  // A signal frame with AVX-512 state is ~3.5 KB and V8's sampler walks the
  // stack from the handler; 64 KB (or 4× the kernel's minimum) is ample.
  size_t size = 64 * 1024;
#ifdef _SC_MINSIGSTKSZ
  const long minimum = sysconf(_SC_MINSIGSTKSZ);
  if (minimum > 0 && size < 4 * static_cast<size_t>(minimum)) size = 4 * static_cast<size_t>(minimum);
#endif
  void *memory = malloc(size);
  if (memory == nullptr) return;
  stack_t stack;
  memset(&stack, 0, sizeof stack);
  stack.ss_sp = memory;
  stack.ss_size = size;
  if (sigaltstack(&stack, nullptr) != 0) {
    free(memory);
    return;
  }
  napi_add_env_cleanup_hook(env, Release, new OwnedStack{memory});
}

}  // namespace laplace_signal_stack

#endif  // LAPLACE_SIGNAL_STACK_H_
