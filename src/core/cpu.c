/* core/cpu.c — CPU features, detected at run time so that one binary serves
   AVX2-only machines and AVX-512 ones alike. */
#include <string.h>

#include "core/internal.h"

unsigned ub_cpu_features(void) {
    unsigned f = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) f |= UB_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= UB_CPU_FMA;
    if (__builtin_cpu_supports("avx512f")) f |= UB_CPU_AVX512F;
#if !defined(__clang__) && __GNUC__ >= 12 /* clang 14 knows neither feature name */
    if (__builtin_cpu_supports("avx512bf16")) f |= UB_CPU_AVX512BF16;
    if (__builtin_cpu_supports("amx-bf16")) f |= UB_CPU_AMX;
#endif
#endif
    return f;
}

const char *ub_cpu_features_string(unsigned f) {
    /* Every combination is a string literal: no buffer to own, no global state. */
    switch (f & (UB_CPU_AVX2 | UB_CPU_FMA | UB_CPU_AVX512F | UB_CPU_AVX512BF16 | UB_CPU_AMX)) {
    case 0: return "baseline";
    case UB_CPU_AVX2: return "avx2";
    case UB_CPU_AVX2 | UB_CPU_FMA: return "avx2 fma";
    case UB_CPU_AVX2 | UB_CPU_FMA | UB_CPU_AVX512F: return "avx2 fma avx512f";
    case UB_CPU_AVX2 | UB_CPU_FMA | UB_CPU_AVX512F | UB_CPU_AVX512BF16: return "avx2 fma avx512f avx512bf16";
    case UB_CPU_AVX2 | UB_CPU_FMA | UB_CPU_AVX512F | UB_CPU_AMX: return "avx2 fma avx512f amx";
    case UB_CPU_AVX2 | UB_CPU_FMA | UB_CPU_AVX512F | UB_CPU_AVX512BF16 | UB_CPU_AMX:
        return "avx2 fma avx512f avx512bf16 amx";
    default: return "other";
    }
}
