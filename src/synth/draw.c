/* synth/draw.c — drawing a sample's parameters from (seed, index), and their JSON record.

   Determinism: every parameter is drawn from a generator seeded by (seed, index), all of them for
   every sample whether or not their effect is applied (so that changing one probability does not
   reshuffle the rest); trajectories, masks and noise use their own derived streams; clean samples
   and the 3-D scene (parallax, more objects, video frames) streams of their own, so that configs
   without them draw exactly what they drew before those existed. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "synth/draw.h"

static double pick(ub_rng *r, ub__range g) {
    double u = ub_rng_uniform(r);
    if (g.log) return exp(log(g.lo) + u * (log(g.hi) - log(g.lo)));
    return g.lo + u * (g.hi - g.lo);
}

static int chance(ub_rng *r, double p) { return ub_rng_uniform(r) < p; }

/* An integer uniform over [lo, hi] of a range. */
static int pick_count(ub_rng *r, ub__range g) {
    const int lo = (int)ceil(g.lo), hi = (int)floor(g.hi);
    if (hi <= lo) return lo;
    const int n = lo + (int)floor(ub_rng_uniform(r) * (hi - lo + 1));
    return n > hi ? hi : n;
}

/* One object's motion, as the config's `object` section draws it. */
static void draw_motion(ub_rng *r, const ub__synth_config *c, ub_object_motion *m) {
    double travel = pick(r, c->object.translate), direction = pick(r, c->object.angle) * UB__DEG;
    m->dx = travel * cos(direction);
    m->dy = travel * sin(direction);
    m->rotation = pick(r, c->object.rotate_deg) * UB__DEG;
    m->scale = pick(r, c->object.scale);
    m->samples = c->object.samples;
}

/* The 3-D scene's draws (parallax, more objects, video frames) from a stream of their own. */
static void draw_scene(const ub__synth_config *c, uint64_t seed, uint64_t index, ub__draw *d) {
    ub_rng r;
    ub_rng_seed(&r, ub_rng_derive(seed, index, 5));
    const int moves = chance(&r, c->shake.parallax_p);
    d->parallax = moves && d->shake && !d->rotational; /* a rotational shake keeps its homographies */
    d->parallax_quantile = pick(&r, c->shake.parallax_quantile);
    d->parallax_gain = pick(&r, c->shake.parallax_gain);
    d->parallax_share = pick(&r, c->shake.parallax_share);
    d->parallax_forward = pick(&r, c->shake.parallax_forward);
    const int count = pick_count(&r, c->object.count);
    d->objects = d->object ? count : 0;
    for (int i = 0; i + 1 < count; i++) {
        draw_motion(&r, c, &d->more[i]);
        d->more_mask_seed[i] = ub_rng_derive(seed, index, 16 + (uint64_t)i);
    }
    const int framed = chance(&r, c->shake.frames_p), frames = pick_count(&r, c->shake.frames_count);
    d->frame_duty = pick(&r, c->shake.frames_duty);
    d->frames = framed && d->shake ? frames : 0;
    if (d->frames) { /* objects move in the same frames: as many copies */
        d->motion.samples = d->frames;
        for (int i = 0; i + 1 < count; i++) d->more[i].samples = d->frames;
    }
}

void ub__draw_sample(const ub__synth_config *c, uint64_t seed, uint64_t index, ub__draw *d) {
    ub_rng r;
    ub_rng_seed(&r, ub_rng_derive(seed, index, 0));
    memset(d, 0, sizeof *d);
    d->gaussian = chance(&r, c->gaussian.p);
    d->sigma = pick(&r, c->gaussian.sigma);
    d->linear = chance(&r, c->linear.p);
    d->line_length = pick(&r, c->linear.length);
    d->line_angle = pick(&r, c->linear.angle);
    d->shake = chance(&r, c->shake.p);
    ub_shake_default(&d->shake_params);
    d->shake_params.length = pick(&r, c->shake.length);
    d->shake_params.anxiety = pick(&r, c->shake.anxiety);
    d->shake_params.centripetal = pick(&r, c->shake.centripetal);
    d->shake_params.big_shake = pick(&r, c->shake.big_shake);
    d->shake_params.gaussian = pick(&r, c->shake.gaussian);
    d->shake_params.samples = c->shake.samples;
    d->rotational = chance(&r, c->shake.rotation_p);
    double rotation = pick(&r, c->shake.rotation_deg), roll = pick(&r, c->shake.roll_weight);
    d->focal_px = pick(&r, c->shake.focal_px);
    if (d->rotational) d->shake_params.rotation_deg = rotation, d->shake_params.roll_weight = roll;
    d->object = chance(&r, c->object.p);
    draw_motion(&r, c, &d->motion);
    d->defocus = chance(&r, c->defocus.p);
    d->focal_mm = pick(&r, c->defocus.focal_mm);
    d->f_number = pick(&r, c->defocus.f_number);
    d->focus_quantile = pick(&r, c->defocus.focus_quantile);
    d->focus_m = pick(&r, c->defocus.focus_m);
    d->sensor_width_mm = pick(&r, c->defocus.sensor_width_mm);
    d->blades = (int)floor(pick(&r, c->defocus.blades));
    d->blade_rotation = ub_rng_uniform(&r) * 2 * 3.14159265358979323846;
    d->exposure = pick(&r, c->sensor.exposure);
    d->highlights = chance(&r, c->sensor.highlights_p);
    d->hl_threshold = pick(&r, c->sensor.highlights_threshold);
    d->hl_factor = pick(&r, c->sensor.highlights_factor);
    d->shot_gain = pick(&r, c->sensor.shot_gain);
    d->read_noise = pick(&r, c->sensor.read_noise);
    d->crf = chance(&r, c->sensor.srgb_p) ? UB_CRF_SRGB : UB_CRF_GAMMA;
    d->gamma = pick(&r, c->sensor.gamma);
    d->jpeg = chance(&r, c->sensor.jpeg_p);
    d->jpeg_quality = (int)lround(pick(&r, c->sensor.jpeg_quality));
    d->trajectory_seed = ub_rng_derive(seed, index, 1);
    d->mask_seed = ub_rng_derive(seed, index, 2);
    d->noise_seed = ub_rng_derive(seed, index, 3);
    draw_scene(c, seed, index, d);
    /* clean samples (a network must learn to leave a sharp, clean photo alone) are decided by a stream
       of their own, so that a config without them draws exactly what it drew before */
    ub_rng clean_rng;
    ub_rng_seed(&clean_rng, ub_rng_derive(seed, index, 4));
    d->clean = c->clean.p > 0 && chance(&clean_rng, c->clean.p);
    if (d->clean) {
        d->gaussian = d->linear = d->shake = d->rotational = d->object = d->defocus = d->parallax = d->frames = 0;
        d->highlights = d->jpeg = 0;
        d->shot_gain = d->read_noise = 0;
    }
}

/* ---- the record of what was drawn ---- */

char *ub__draw_json(const ub__draw *d, uint64_t seed, uint64_t index, const ub_kernel *k, const ub_lens *lens) {
    json_t *o = json_pack("{s:I, s:I}", "seed", (json_int_t)seed, "index", (json_int_t)index);
    if (!o) return NULL;
    if (d->clean) json_object_set_new(o, "clean", json_true());
    if (d->gaussian) json_object_set_new(o, "gaussian", json_pack("{s:f}", "sigma", d->sigma));
    if (d->linear)
        json_object_set_new(o, "linear", json_pack("{s:f, s:f}", "length", d->line_length, "angle", d->line_angle));
    if (d->shake) {
        const ub_shake_params *p = &d->shake_params;
        json_t *sh = json_pack("{s:f, s:f, s:f, s:f, s:f, s:i}", "length", p->length, "anxiety", p->anxiety,
                               "centripetal", p->centripetal, "big_shake", p->big_shake, "gaussian", p->gaussian,
                               "samples", p->samples);
        if (sh && d->parallax)
            json_object_set_new(sh, "parallax",
                                json_pack("{s:f, s:f, s:f, s:f}", "reference_quantile", d->parallax_quantile, "max_gain",
                                          d->parallax_gain, "translation_share", d->parallax_share, "forward",
                                          d->parallax_forward));
        if (sh && d->frames)
            json_object_set_new(sh, "frames", json_pack("{s:i, s:f}", "count", d->frames, "duty", d->frame_duty));
        if (sh && d->rotational)
            json_object_set_new(sh, "rotation", json_pack("{s:f, s:f, s:f}", "degrees", p->rotation_deg,
                                                          "roll_weight", p->roll_weight, "focal_px", d->focal_px));
        json_object_set_new(o, "shake", sh);
    }
    if (d->object) {
        json_t *ob = json_pack("{s:f, s:f, s:f, s:f}", "dx", d->motion.dx, "dy", d->motion.dy, "rotate_deg",
                               d->motion.rotation / UB__DEG, "scale", d->motion.scale);
        if (ob && d->objects > 1) json_object_set_new(ob, "count", json_integer(d->objects));
        json_object_set_new(o, "object", ob);
    }
    if (d->defocus && lens)
        json_object_set_new(o, "defocus",
                            json_pack("{s:f, s:f, s:f, s:f, s:i}", "focal_mm", lens->focal_mm, "f_number", lens->f_number,
                                      "focus_m", lens->focus_m, "pixel_pitch_um", lens->pixel_pitch_um, "blades",
                                      lens->blades));
    json_t *sensor = json_pack("{s:f, s:f, s:f, s:s}", "exposure", d->exposure, "shot_gain", d->shot_gain,
                               "read_noise", d->read_noise, "response", d->crf == UB_CRF_SRGB ? "srgb" : "gamma");
    if (sensor && d->crf == UB_CRF_GAMMA) json_object_set_new(sensor, "gamma", json_real(d->gamma));
    if (sensor && d->highlights)
        json_object_set_new(sensor, "highlights",
                            json_pack("{s:f, s:f}", "threshold", d->hl_threshold, "factor", d->hl_factor));
    if (sensor && d->jpeg) json_object_set_new(sensor, "jpeg_quality", json_integer(d->jpeg_quality));
    json_object_set_new(o, "sensor", sensor);
    if (k) json_object_set_new(o, "kernel_size", json_pack("[i,i]", k->width, k->height));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(o);
    return text;
}

