/* synth/config.c — JSON configs and presets for the blur simulator.

   One schema table lists every key: its JSON path, its kind, where it lands in
   ub__synth_config, and the bounds a value must respect. Parsing walks the
   JSON object against that table, so an unknown key, a value of the wrong
   type, min > max or a value out of bounds is reported with its JSON path
   ("shake.length: min 40 > max 20"). A config may start from a preset
   ({"preset": "realistic", ...}) and override any key of it. Presets are
   themselves configs, kept as JSON text below and documented in
   docs/synth-config.md. */
#include <jansson.h>
#include <stddef.h>
#include <string.h>

#include "synth/config.h"

typedef enum { K_SECTION, K_PROB, K_RANGE, K_INT, K_BOOL } key_kind;

typedef struct schema_key {
    const char *path;  /* dotted JSON path */
    key_kind kind;
    size_t offset;     /* into ub__synth_config */
    double min, max;   /* allowed values (for ranges: of both ends) */
} schema_key;

#define AT(field) offsetof(ub__synth_config, field)

static const schema_key schema[] = {
    {"preset", K_SECTION, 0, 0, 0}, /* handled before the walk */
    {"gaussian", K_SECTION, 0, 0, 0},
    {"gaussian.p", K_PROB, AT(gaussian.p), 0, 1},
    {"gaussian.sigma", K_RANGE, AT(gaussian.sigma), 0, 64},
    {"gaussian.depth_scaled", K_BOOL, AT(gaussian.depth_scaled), 0, 1},
    {"gaussian.layers", K_INT, AT(gaussian.layers), 2, 64},
    {"linear", K_SECTION, 0, 0, 0},
    {"linear.p", K_PROB, AT(linear.p), 0, 1},
    {"linear.length", K_RANGE, AT(linear.length), 0, 500},
    {"linear.angle", K_RANGE, AT(linear.angle), -360, 360},
    {"shake", K_SECTION, 0, 0, 0},
    {"shake.p", K_PROB, AT(shake.p), 0, 1},
    {"shake.length", K_RANGE, AT(shake.length), 0, 500},
    {"shake.anxiety", K_RANGE, AT(shake.anxiety), 0, 1},
    {"shake.centripetal", K_RANGE, AT(shake.centripetal), 0, 1},
    {"shake.big_shake", K_RANGE, AT(shake.big_shake), 0, 1},
    {"shake.gaussian", K_RANGE, AT(shake.gaussian), 0, 100},
    {"shake.samples", K_INT, AT(shake.samples), 16, 100000},
    {"shake.rotation", K_SECTION, 0, 0, 0},
    {"shake.rotation.p", K_PROB, AT(shake.rotation_p), 0, 1},
    {"shake.rotation.degrees", K_RANGE, AT(shake.rotation_deg), 0, 30},
    {"shake.rotation.roll_weight", K_RANGE, AT(shake.roll_weight), 0, 1},
    {"shake.rotation.focal_px", K_RANGE, AT(shake.focal_px), 10, 1e6},
    {"shake.rotation.samples", K_INT, AT(shake.warp_samples), 2, 4096},
    {"shake.parallax", K_SECTION, 0, 0, 0},
    {"shake.parallax.p", K_PROB, AT(shake.parallax_p), 0, 1},
    {"shake.parallax.reference_quantile", K_RANGE, AT(shake.parallax_quantile), 0, 1},
    {"shake.parallax.max_gain", K_RANGE, AT(shake.parallax_gain), 1, 100},
    {"shake.parallax.translation_share", K_RANGE, AT(shake.parallax_share), 0, 1},
    {"shake.parallax.forward", K_RANGE, AT(shake.parallax_forward), -0.5, 0.5},
    {"shake.parallax.samples", K_INT, AT(shake.parallax_samples), 2, 4096},
    {"shake.frames", K_SECTION, 0, 0, 0},
    {"shake.frames.p", K_PROB, AT(shake.frames_p), 0, 1},
    {"shake.frames.count", K_RANGE, AT(shake.frames_count), 1, 256},
    {"shake.frames.duty", K_RANGE, AT(shake.frames_duty), 0.01, 1},
    {"object", K_SECTION, 0, 0, 0},
    {"object.p", K_PROB, AT(object.p), 0, 1},
    {"object.translate", K_RANGE, AT(object.translate), 0, 1000},
    {"object.angle", K_RANGE, AT(object.angle), -360, 360},
    {"object.rotate_deg", K_RANGE, AT(object.rotate_deg), -180, 180},
    {"object.scale", K_RANGE, AT(object.scale), 0.25, 4},
    {"object.samples", K_INT, AT(object.samples), 2, 4096},
    {"object.count", K_RANGE, AT(object.count), 1, 16},
    {"defocus", K_SECTION, 0, 0, 0},
    {"defocus.p", K_PROB, AT(defocus.p), 0, 1},
    {"defocus.focal_mm", K_RANGE, AT(defocus.focal_mm), 1, 2000},
    {"defocus.f_number", K_RANGE, AT(defocus.f_number), 0.5, 64},
    {"defocus.focus_quantile", K_RANGE, AT(defocus.focus_quantile), 0, 1},
    {"defocus.focus_m", K_RANGE, AT(defocus.focus_m), 0, 1e6},
    {"defocus.sensor_width_mm", K_RANGE, AT(defocus.sensor_width_mm), 1, 100},
    {"defocus.blades", K_RANGE, AT(defocus.blades), 0, 16},
    {"sensor", K_SECTION, 0, 0, 0},
    {"sensor.exposure", K_RANGE, AT(sensor.exposure), 0.01, 100},
    {"sensor.highlights", K_SECTION, 0, 0, 0},
    {"sensor.highlights.p", K_PROB, AT(sensor.highlights_p), 0, 1},
    {"sensor.highlights.threshold", K_RANGE, AT(sensor.highlights_threshold), 0.01, 1},
    {"sensor.highlights.factor", K_RANGE, AT(sensor.highlights_factor), 1, 1000},
    {"sensor.shot_gain", K_RANGE, AT(sensor.shot_gain), 0, 1},
    {"sensor.read_noise", K_RANGE, AT(sensor.read_noise), 0, 1},
    {"sensor.response", K_SECTION, 0, 0, 0},
    {"sensor.response.srgb_p", K_PROB, AT(sensor.srgb_p), 0, 1},
    {"sensor.response.gamma", K_RANGE, AT(sensor.gamma), 1, 5},
    {"sensor.jpeg", K_SECTION, 0, 0, 0},
    {"sensor.jpeg.p", K_PROB, AT(sensor.jpeg_p), 0, 1},
    {"sensor.jpeg.quality", K_RANGE, AT(sensor.jpeg_quality), 1, 100},
    {"clean", K_SECTION, 0, 0, 0},
    {"clean.p", K_PROB, AT(clean.p), 0, 1},
};

/* ---- presets ---- */

/* Common sensor model of the presets: mild exposure changes, realistic noise
   (shot gain and read noise log-uniform over phone-to-DSLR levels), sRGB or a
   random gamma, JPEG most of the time. */
#define SENSOR_JSON                                                                                          \
    "\"sensor\": {\"exposure\": [0.8, 1.2],"                                                                 \
    " \"highlights\": {\"p\": 0.3, \"threshold\": [0.9, 0.98], \"factor\": [1.5, 5]},"                       \
    " \"shot_gain\": {\"min\": 0.0001, \"max\": 0.01, \"log\": true},"                                       \
    " \"read_noise\": {\"min\": 0.0005, \"max\": 0.01, \"log\": true},"                                      \
    " \"response\": {\"srgb_p\": 0.5, \"gamma\": [1.8, 2.6]},"                                               \
    " \"jpeg\": {\"p\": 0.7, \"quality\": [60, 95]}}"

static const struct {
    const char *name, *json;
} presets[] = {
    /* the seed article: a Gaussian whose sigma grows with depth, no sensor effects */
    {"gaussian", "{\"gaussian\": {\"p\": 1, \"sigma\": [0.5, 3.0], \"depth_scaled\": true, \"layers\": 8},"
                 " \"sensor\": {\"exposure\": 1, \"shot_gain\": 0, \"read_noise\": 0,"
                 " \"response\": {\"srgb_p\": 1}, \"jpeg\": {\"p\": 0}}}"},
    /* straight motion of random length and direction */
    {"linear", "{\"linear\": {\"p\": 1, \"length\": [3, 25], \"angle\": [0, 180]}, " SENSOR_JSON "}"},
    /* Boracchi-Foi camera shake, uniform over the image */
    {"shake", "{\"shake\": {\"p\": 1, \"length\": [4, 40], \"anxiety\": [0.0005, 0.008], \"centripetal\": [0, 0.7],"
              " \"big_shake\": [0, 0.2], \"gaussian\": [0, 10], \"samples\": 2000}, " SENSOR_JSON "}"},
    /* everything, randomly combined: shake (sometimes rotational), object motion, defocus */
    {"realistic",
     "{\"shake\": {\"p\": 0.85, \"length\": [3, 40], \"anxiety\": [0.0005, 0.008], \"centripetal\": [0, 0.7],"
     " \"big_shake\": [0, 0.2], \"gaussian\": [0, 10], \"samples\": 2000,"
     " \"rotation\": {\"p\": 0.3, \"degrees\": [0.05, 0.6], \"roll_weight\": [0.3, 1.0], \"focal_px\": [300, 1500],"
     " \"samples\": 48}},"
     " \"object\": {\"p\": 0.25, \"translate\": [5, 30], \"angle\": [0, 360], \"rotate_deg\": [-8, 8],"
     " \"scale\": [0.92, 1.08], \"samples\": 32},"
     " \"defocus\": {\"p\": 0.25, \"focal_mm\": [24, 85], \"f_number\": [1.4, 5.6], \"focus_quantile\": [0.1, 0.9],"
     " \"sensor_width_mm\": [6, 36], \"blades\": [0, 9]}, " SENSOR_JSON "}"},
    /* realistic, with the blur lengths of real photographs (issue 13): shake log-uniform over 2-64 px, so that
       as many samples are nearly sharp (2-6 px: 32 %) as long (> 24 px: 28 %); Levin's kernels are 13-27 px at
       255 px, the GoPro pairs' blur 40-60 px at 1280x720. Object motion (the GoPro pairs' dynamic scenes) more
       often and longer; defocus less often. `realistic` is left as it was so earlier figures stay comparable. */
    {"camera",
     "{\"shake\": {\"p\": 0.9, \"length\": {\"min\": 2, \"max\": 64, \"log\": true}, \"anxiety\": [0.0005, 0.008],"
     " \"centripetal\": [0, 0.7], \"big_shake\": [0, 0.2], \"gaussian\": [0, 10], \"samples\": 2000,"
     " \"rotation\": {\"p\": 0.3, \"degrees\": [0.05, 0.8], \"roll_weight\": [0.3, 1.0], \"focal_px\": [300, 1500],"
     " \"samples\": 48}},"
     " \"object\": {\"p\": 0.35, \"translate\": {\"min\": 4, \"max\": 48, \"log\": true}, \"angle\": [0, 360],"
     " \"rotate_deg\": [-8, 8], \"scale\": [0.92, 1.08], \"samples\": 32},"
     " \"defocus\": {\"p\": 0.15, \"focal_mm\": [24, 85], \"f_number\": [1.4, 5.6], \"focus_quantile\": [0.1, 0.9],"
     " \"sensor_width_mm\": [6, 36], \"blades\": [0, 9]}, " SENSOR_JSON "}"},
};

const char *ub__synth_preset_json(const char *preset) {
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (preset && strcmp(presets[i].name, preset) == 0) return presets[i].json;
    return NULL;
}

const char *ub__synth_preset_names(void) { return "gaussian, linear, shake, realistic, camera"; }

/* ---- defaults: nothing applied; plain sRGB camera ---- */

static ub__range fixed(double v) {
    ub__range r = {v, v, 0};
    return r;
}

static void set_defaults(ub__synth_config *c) {
    memset(c, 0, sizeof *c);
    c->gaussian.sigma = fixed(1.0);
    c->gaussian.layers = 8;
    c->linear.length = fixed(10);
    c->linear.angle = (ub__range){0, 180, 0};
    ub_shake_params sp;
    ub_shake_default(&sp);
    c->shake.length = fixed(sp.length);
    c->shake.anxiety = fixed(sp.anxiety);
    c->shake.centripetal = fixed(sp.centripetal);
    c->shake.big_shake = fixed(sp.big_shake);
    c->shake.gaussian = fixed(sp.gaussian);
    c->shake.samples = sp.samples > 0 ? sp.samples : 2000;
    c->shake.rotation_deg = fixed(1.0);
    c->shake.roll_weight = fixed(0.5);
    c->shake.focal_px = fixed(800);
    c->shake.warp_samples = 48;
    c->shake.parallax_quantile = fixed(0.1);
    c->shake.parallax_gain = fixed(4);
    c->shake.parallax_share = fixed(1);
    c->shake.parallax_forward = fixed(0);
    c->shake.parallax_samples = 48;
    c->shake.frames_count = fixed(8);
    c->shake.frames_duty = fixed(1);
    c->object.translate = fixed(15);
    c->object.angle = (ub__range){0, 360, 0};
    c->object.scale = fixed(1);
    c->object.samples = 32;
    c->object.count = fixed(1);
    c->defocus.focal_mm = fixed(50);
    c->defocus.f_number = fixed(2.8);
    c->defocus.focus_quantile = fixed(0.5);
    c->defocus.sensor_width_mm = fixed(24);
    c->sensor.exposure = fixed(1);
    c->sensor.highlights_threshold = fixed(0.95);
    c->sensor.highlights_factor = fixed(4);
    c->sensor.srgb_p = 1;
    c->sensor.gamma = fixed(2.2);
    c->sensor.jpeg_quality = fixed(90);
}

/* ---- the walk ---- */

typedef struct parse_state {
    ub_ctx *ctx;
    const char *name;
    ub__synth_config *cfg;
} parse_state;

static const schema_key *find_key(const char *path) {
    for (size_t i = 0; i < sizeof schema / sizeof *schema; i++)
        if (strcmp(schema[i].path, path) == 0) return &schema[i];
    return NULL;
}

/* fmt takes at most two doubles (%g); printf ignores arguments that it does not use. (A "%.0s" to
   swallow an unused one read a double as a pointer: found by fuzz/fuzz_config.c.) */
static ub_status bad(parse_state *s, const char *path, const char *fmt, double a, double b) {
    char what[160];
    snprintf(what, sizeof what, fmt, a, b);
    return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: %s", s->name, path, what);
}

static ub_status read_number(parse_state *s, const char *path, json_t *v, double *out) {
    if (!json_is_number(v)) return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: expected a number", s->name, path);
    *out = json_number_value(v);
    return UB_OK;
}

/* A range: 3, [1, 5] or {"min": 1, "max": 5, "log": true}. */
static ub_status read_range(parse_state *s, const schema_key *k, json_t *v, ub__range *out) {
    ub__range r = {0, 0, 0};
    ub_status st = UB_OK;
    if (json_is_number(v)) {
        r.lo = r.hi = json_number_value(v);
    } else if (json_is_array(v)) {
        if (json_array_size(v) != 2)
            return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: a range is [min, max]", s->name, k->path);
        if ((st = read_number(s, k->path, json_array_get(v, 0), &r.lo)) ||
            (st = read_number(s, k->path, json_array_get(v, 1), &r.hi)))
            return st;
    } else if (json_is_object(v)) {
        const char *key;
        json_t *item;
        int have = 0;
        json_object_foreach(v, key, item) {
            if (strcmp(key, "min") == 0) st = read_number(s, k->path, item, &r.lo), have |= 1;
            else if (strcmp(key, "max") == 0) st = read_number(s, k->path, item, &r.hi), have |= 2;
            else if (strcmp(key, "log") == 0 && json_is_boolean(item)) r.log = json_is_true(item);
            else return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s.%s: unknown key (min, max, log)", s->name, k->path, key);
            if (st) return st;
        }
        if (have != 3) return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: a range needs min and max", s->name, k->path);
    } else {
        return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: expected a number, [min, max] or {\"min\", \"max\"}",
                        s->name, k->path);
    }
    if (r.lo > r.hi) return bad(s, k->path, "min %g > max %g", r.lo, r.hi);
    if (r.lo < k->min || r.hi > k->max) return bad(s, k->path, "outside the allowed [%g, %g]", k->min, k->max);
    if (r.log && r.lo <= 0) return bad(s, k->path, "a log range needs min > 0, not %g", r.lo, 0);
    *out = r;
    return UB_OK;
}

static ub_status read_value(parse_state *s, const schema_key *k, json_t *v) {
    char *field = (char *)s->cfg + k->offset;
    double d = 0;
    ub_status st;
    switch (k->kind) {
    case K_RANGE: return read_range(s, k, v, (ub__range *)(void *)field);
    case K_PROB:
    case K_INT:
        if ((st = read_number(s, k->path, v, &d))) return st;
        if (d < k->min || d > k->max)
            return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: %g is outside the allowed [%g, %g]", s->name, k->path, d,
                            k->min, k->max);
        if (k->kind == K_INT) {
            if (d != (double)(int)d) return bad(s, k->path, "expected a whole number, not %g", d, 0);
            *(int *)(void *)field = (int)d;
        } else {
            *(double *)(void *)field = d;
        }
        return UB_OK;
    case K_BOOL:
        if (!json_is_boolean(v)) return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: expected true or false", s->name, k->path);
        *(int *)(void *)field = json_is_true(v);
        return UB_OK;
    case K_SECTION: break;
    }
    return UB_OK;
}

static ub_status walk(parse_state *s, json_t *obj, const char *prefix) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (!*prefix && strcmp(key, "preset") == 0) continue;
        const schema_key *k = find_key(path);
        if (!k) return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: unknown key", s->name, path);
        ub_status st;
        if (k->kind == K_SECTION) {
            if (!json_is_object(v)) return ub__fail(s->ctx, UB_ERR_INVALID, "%s: %s: expected an object", s->name, path);
            st = walk(s, v, path);
        } else {
            st = read_value(s, k, v);
        }
        if (st) return st;
    }
    return UB_OK;
}

static ub_status apply_json(parse_state *s, const char *text, int depth) {
    json_error_t err;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return ub__fail(s->ctx, UB_ERR_INVALID, "%s: line %d, column %d: %s", s->name, err.line, err.column, err.text);
    ub_status st = UB_OK;
    if (!json_is_object(root)) {
        st = ub__fail(s->ctx, UB_ERR_INVALID, "%s: a config is a JSON object", s->name);
    } else {
        json_t *preset = json_object_get(root, "preset");
        if (preset) {
            const char *base = json_is_string(preset) ? ub__synth_preset_json(json_string_value(preset)) : NULL;
            if (!base || depth > 0)
                st = ub__fail(s->ctx, UB_ERR_INVALID, "%s: preset: expected one of %s", s->name,
                              ub__synth_preset_names());
            else st = apply_json(s, base, depth + 1);
        }
        if (st == UB_OK) st = walk(s, root, "");
    }
    json_decref(root);
    return st;
}

ub_status ub__synth_config_parse(ub_ctx *ctx, const char *json_text, const char *name, ub__synth_config *cfg) {
    parse_state s = {ctx, name ? name : "config", cfg};
    set_defaults(cfg);
    return apply_json(&s, json_text, 0);
}
