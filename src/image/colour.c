/* image/colour.c — sRGB <-> linear light (IEC 61966-2-1).

       linear = s / 12.92                      for s <= 0.04045
              = ((s + 0.055) / 1.055)^2.4      otherwise
       s      = 12.92 l                        for l <= 0.0031308
              = 1.055 l^(1/2.4) - 0.055        otherwise

   extended odd-symmetrically below 0 and by the power curve above 1, so that
   values outside [0,1] (noise, boosted highlights) survive a round trip.
   The fast loops are written for the compiler's vectoriser: this file is
   built with -ffast-math so that glibc's libmvec supplies 8-wide AVX2 powf
   (checked in tests/test_image.c against the double-precision references). */
#include <math.h>

#include "image/internal.h"

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

void ub_srgb_to_linear(float *v, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(v[i]);
        float p = powf((a + 0.055f) * (1.0f / 1.055f), 2.4f);
        float l = a <= 0.04045f ? a * (1.0f / 12.92f) : p;
        v[i] = copysignf(l, v[i]);
    }
}

void ub_linear_to_srgb(float *v, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(v[i]);
        float p = 1.055f * powf(a, 1.0f / 2.4f) - 0.055f;
        float s = a <= 0.0031308f ? a * 12.92f : p;
        v[i] = copysignf(s, v[i]);
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
