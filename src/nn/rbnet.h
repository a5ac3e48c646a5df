/* nn/rbnet.h — RBNet's configuration and its descriptor's functions
   (nn/arch_rbnet.c; ../shared/peers/rbnet.py is the specification): a U-Net
   of residual (res) or NAF (naf) blocks with attention on the skips and a
   global residual. */
#ifndef UB_NN_RBNET_H
#define UB_NN_RBNET_H

#include "nn/graph.h"

enum { UB__BLOCK_RES = 0, UB__BLOCK_NAF = 1 };
/* skip attention: SE then spatial (both), one of them, or none (att is the identity) */
enum { UB__SKIP_BOTH = 0, UB__SKIP_SE = 1, UB__SKIP_SA = 2, UB__SKIP_NONE = 3 };

typedef struct ub__rbnet_config {
    int width;        /* W: channels at level 0 */
    int blocks;       /* N: blocks per encoder/decoder stage */
    int mid_blocks;   /* M: blocks in the bottleneck */
    int depth;        /* D: number of down-samplings */
    int se_reduction; /* SE: fc1 has max(1, C / se_reduction) outputs */
    int sa_kernel;    /* spatial attention kernel (odd) */
    int block;        /* UB__BLOCK_RES (ResBlock) or UB__BLOCK_NAF (NAFBlock) */
    int skip_attention; /* UB__SKIP_* */
} ub__rbnet_config;

void ub__rbnet_config_default(ub__rbnet_config *c);
/* Checks the ranges: width 1..1024, blocks 0..64, depth 1..8, se_reduction >= 1, sa_kernel odd 1..15,
   block and skip_attention one of the enums. */
ub_status ub__rbnet_config_check(ub_ctx *ctx, const ub__rbnet_config *c);
ub_status ub__rbnet_params(ub_ctx *ctx, const ub__rbnet_config *c, ub__param_table *out);
/* The RBNet graph for inputs of n x 3 x h x w (any h, w >= 2; padded to multiples of 2^depth). */
ub_status ub__rbnet_graph(ub_ctx *ctx, const ub__rbnet_config *c, const ub__param_table *t, int n, int h, int w,
                          ub__graph *out);
/* Names of the enums ("res", "naf"; "both", "se", "sa", "none"), NULL when out of range; and back (-1). */
const char *ub__rbnet_block_name(int block);
const char *ub__rbnet_skip_name(int skip);
int ub__rbnet_block_parse(const char *name);
int ub__rbnet_skip_parse(const char *name);

#endif
