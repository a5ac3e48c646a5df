/* synth/config.h — the synthesis configuration: what a JSON config or a
   preset resolves to, and the parameters one sample actually drew.

   Every numeric parameter is a range [lo, hi] drawn uniformly (or
   log-uniformly when `log` is set); a fixed value is a range with lo == hi.
   Every effect has a probability p of being applied to a sample. The format
   is documented in docs/synth-config.md; the schema table in config.c is the
   single place that lists keys, defaults and allowed bounds. */
#ifndef UB_SYNTH_CONFIG_H
#define UB_SYNTH_CONFIG_H

#include "synth/internal.h"

enum { UB__MAX_OBJECTS = 16 }; /* object.count's upper bound */

typedef struct ub__range {
    double lo, hi;
    int log; /* draw log-uniformly */
} ub__range;

typedef struct ub__synth_config {
    struct {
        double p;
        ub__range sigma;    /* pixels, at the far end of the depth range */
        int depth_scaled;   /* sigma grows with depth (the seed article's model) */
        int layers;         /* depth layers of the depth-scaled blur */
    } gaussian;
    struct {
        double p;
        ub__range length;   /* pixels */
        ub__range angle;    /* degrees */
    } linear;
    struct {
        double p;
        ub__range length, anxiety, centripetal, big_shake, gaussian;
        int samples;
        double rotation_p;  /* probability of rotational (spatially varying) shake */
        ub__range rotation_deg, roll_weight, focal_px;
        int warp_samples;
        double parallax_p;  /* probability that a translation-only shake moves in depth (synth/parallax.c) */
        ub__range parallax_quantile, parallax_gain, parallax_share, parallax_forward;
        int parallax_samples;
        double frames_p;    /* probability that the exposure is an average of video frames */
        ub__range frames_count, frames_duty;
    } shake;
    struct {
        double p;
        ub__range translate; /* pixels over the exposure */
        ub__range angle;     /* direction, degrees */
        ub__range rotate_deg, scale;
        ub__range count;     /* objects, each with its own mask and motion (floor of the draw) */
        int samples;
    } object;
    struct {
        double p;
        ub__range focal_mm, f_number, focus_quantile, sensor_width_mm, blades;
        ub__range focus_m; /* > 0: a focus distance in metres instead of the quantile */
    } defocus;
    struct {
        ub__range exposure;
        double highlights_p;
        ub__range highlights_threshold, highlights_factor;
        ub__range shot_gain, read_noise;
        double srgb_p;       /* else a random gamma */
        ub__range gamma;
        double jpeg_p;
        ub__range jpeg_quality;
    } sensor;
    struct {
        double p; /* probability of a clean sample: no blur and no sensor effects, blurred == sharp */
    } clean;
} ub__synth_config;

/* Parses a JSON config (possibly {"preset": NAME, ...overrides}) into `cfg`.
   `name` (a file name) prefixes error messages; keys are named by JSON path. */
ub_status ub__synth_config_parse(ub_ctx *ctx, const char *json_text, const char *name, ub__synth_config *cfg);
/* The JSON text of a preset, or NULL for an unknown name. */
const char *ub__synth_preset_json(const char *preset);
/* Comma-separated list of the preset names, for messages. */
const char *ub__synth_preset_names(void);

#endif
