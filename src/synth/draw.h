/* synth/draw.h — what one sample drew: every parameter of the synthesis, drawn from (seed, index) by
   ub__draw_sample (synth/draw.c), and its record as JSON (the sidecar `--params-out` writes). The
   pipeline (synth/pipeline.c) applies what was drawn. */
#ifndef UB_SYNTH_DRAW_H
#define UB_SYNTH_DRAW_H

#include "synth/config.h"

#define UB__DEG (3.14159265358979323846 / 180.0)

/* What one sample drew. */
typedef struct ub__draw {
    int gaussian, linear, shake, rotational, object, defocus, highlights, jpeg;
    int clean; /* a clean sample: every effect drawn above is switched off */
    double sigma;
    double line_length, line_angle;
    ub_shake_params shake_params;
    double focal_px;
    ub_object_motion motion;
    /* the scene's own stream (drawn after everything above, so configs without these draw as before) */
    int parallax;            /* the shake translates in depth: synth/parallax.c */
    double parallax_quantile, parallax_gain, parallax_share, parallax_forward;
    int objects;             /* moving objects when `object` is drawn: motion, then more[0..objects-2] */
    ub_object_motion more[UB__MAX_OBJECTS - 1];
    uint64_t more_mask_seed[UB__MAX_OBJECTS - 1];
    int frames;              /* > 0: the exposure is the mean of this many video frames (shake and objects) */
    double frame_duty;       /* the exposed share of each frame's time slot */
    double focal_mm, f_number, focus_quantile, focus_m, sensor_width_mm;
    int blades;
    double blade_rotation;
    double exposure, hl_threshold, hl_factor, shot_gain, read_noise, gamma;
    ub_crf crf;
    int jpeg_quality;
    uint64_t trajectory_seed, mask_seed, noise_seed;
} ub__draw;

/* Draws every parameter of sample `index` of run `seed`: all of them for every sample, whether or not
   their effect applies (so that changing one probability does not reshuffle the rest); trajectories,
   masks and noise get seeds of their own streams. */
void ub__draw_sample(const ub__synth_config *c, uint64_t seed, uint64_t index, ub__draw *d);
/* The JSON record of a sample (malloc'd text, NULL when out of memory): what was drawn and applied,
   the kernel's size, the lens when defocus applied. */
char *ub__draw_json(const ub__draw *d, uint64_t seed, uint64_t index, const ub_kernel *k, const ub_lens *lens);

#endif
