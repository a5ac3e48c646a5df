/* image/colour.c — sRGB <-> linear light (IEC 61966-2-1).

       linear = s / 12.92                      for s <= 0.04045
              = ((s + 0.055) / 1.055)^2.4      otherwise
       s      = 12.92 l                        for l <= 0.0031308
              = 1.055 l^(1/2.4) - 0.055        otherwise

   extended odd-symmetrically below 0 and by the power curve above 1, so that
   values outside [0,1] (noise, boosted highlights) survive a round trip.
   The fast loops are written for the compiler's vectoriser: values in [0,1]
   interpolate generated tables (srgb_lut.h), others take the exact curve,
   for which this file is built with -ffast-math so that glibc's libmvec
   supplies 8-wide AVX2 powf (both checked in tests/test_image.c against the
   double-precision references). */
#include <immintrin.h>
#include <math.h>

#include "image/internal.h"
#include "image/srgb_lut.h"

double ub_srgb_to_linear_ref(double v) {
    double a = fabs(v);
    double l = a <= 0.04045 ? a / 12.92 : pow((a + 0.055) / 1.055, 2.4);
    return v < 0 ? -l : l;
}

double ub_linear_to_srgb_ref(double v) {
    double a = fabs(v);
    double s = a <= 0.0031308 ? a * 12.92 : 1.055 * pow(a, 1.0 / 2.4) - 0.055;
    return v < 0 ? -s : s;
}

/* The exact curves, vectorised through libmvec's powf: any value, including
   those outside [0, 1]. */
static void srgb_to_linear_pow(float *v, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(v[i]);
        float p = powf((a + 0.055f) * (1.0f / 1.055f), 2.4f);
        float l = a <= 0.04045f ? a * (1.0f / 12.92f) : p;
        v[i] = copysignf(l, v[i]);
    }
}

static void linear_to_srgb_pow(float *v, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(v[i]);
        float p = 1.055f * powf(a, 1.0f / 2.4f) - 0.055f;
        float s = a <= 0.0031308f ? a * 12.92f : p;
        v[i] = copysignf(s, v[i]);
    }
}

/* Values in [0, 1] (nearly all of them) go through the tables of srgb_lut.h with
   linear interpolation: 3-4x cheaper than powf, within 3e-7 of the curves. The
   table for linear->sRGB is indexed by x^(1/4), where that curve is smooth. */
static int all_in_unit(const float *v, size_t n) {
    int outside = 0;
#pragma omp simd reduction(| : outside)
    for (size_t i = 0; i < n; i++) outside |= !(v[i] >= 0.0f && v[i] <= 1.0f);
    return !outside;
}

/* One table step for 8 values at once. GCC does not emit gathers when tuning for
   generic x86-64, so the loop is written with AVX2 intrinsics (the library's
   baseline); the scalar form finishes the tail. */
static inline __m256 lut8(const float *t, __m256 f) {
    const __m256i k = _mm256_cvttps_epi32(f);
    const __m256 lo = _mm256_i32gather_ps(t, k, 4), hi = _mm256_i32gather_ps(t + 1, k, 4);
    return _mm256_fmadd_ps(_mm256_sub_ps(f, _mm256_cvtepi32_ps(k)), _mm256_sub_ps(hi, lo), lo);
}

static inline float lut1(const float *t, float f) {
    const int k = (int)f;
    return t[k] + (f - (float)k) * (t[k + 1] - t[k]);
}

static void srgb_to_linear_lut(float *v, size_t n) {
    const float *t = ub__srgb_to_linear_lut;
    const __m256 scale = _mm256_set1_ps(UB__SRGB_LUT_N), knee = _mm256_set1_ps(0.04045f),
                 slope = _mm256_set1_ps(1.0f / 12.92f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(v + i);
        const __m256 p = lut8(t, _mm256_mul_ps(x, scale));
        _mm256_storeu_ps(v + i, _mm256_blendv_ps(p, _mm256_mul_ps(x, slope), _mm256_cmp_ps(x, knee, _CMP_LE_OQ)));
    }
    for (; i < n; i++) v[i] = v[i] <= 0.04045f ? v[i] * (1.0f / 12.92f) : lut1(t, v[i] * UB__SRGB_LUT_N);
}

static void linear_to_srgb_lut(float *v, size_t n) {
    const float *t = ub__linear_to_srgb_lut;
    const __m256 scale = _mm256_set1_ps(UB__SRGB_LUT_N), knee = _mm256_set1_ps(0.0031308f),
                 slope = _mm256_set1_ps(12.92f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(v + i);
        const __m256 p = lut8(t, _mm256_mul_ps(_mm256_sqrt_ps(_mm256_sqrt_ps(x)), scale));
        _mm256_storeu_ps(v + i, _mm256_blendv_ps(p, _mm256_mul_ps(x, slope), _mm256_cmp_ps(x, knee, _CMP_LE_OQ)));
    }
    for (; i < n; i++) v[i] = v[i] <= 0.0031308f ? v[i] * 12.92f : lut1(t, sqrtf(sqrtf(v[i])) * UB__SRGB_LUT_N);
}

enum { CHUNK = 1024 };

void ub_srgb_to_linear(float *v, size_t n) {
    for (size_t at = 0; at < n; at += CHUNK) {
        const size_t m = n - at < CHUNK ? n - at : CHUNK;
        if (all_in_unit(v + at, m)) srgb_to_linear_lut(v + at, m);
        else srgb_to_linear_pow(v + at, m);
    }
}

void ub_linear_to_srgb(float *v, size_t n) {
    for (size_t at = 0; at < n; at += CHUNK) {
        const size_t m = n - at < CHUNK ? n - at : CHUNK;
        if (all_in_unit(v + at, m)) linear_to_srgb_lut(v + at, m);
        else linear_to_srgb_pow(v + at, m);
    }
}

void ub_image_srgb_to_linear(ub_image *img) {
    size_t plane = (size_t)img->width * (size_t)img->height;
    ub_srgb_to_linear(img->data, plane * (size_t)ub_image_colour_channels(img));
}

void ub_image_linear_to_srgb(ub_image *img) {
    size_t plane = (size_t)img->width * (size_t)img->height;
    ub_linear_to_srgb(img->data, plane * (size_t)ub_image_colour_channels(img));
}
