/* unblur.h — the public API of libunblur, an image-deblurring library.

   unblur synthesises realistic blur from sharp images, trains a network
   (RBNet) to undo it, and deblurs photographs. This umbrella header includes
   the API of every part; each part documents itself at its top:

     unblur/core.h     context, settings, status codes, errors, CPU features
     unblur/image.h    the image type (float32 planar), PNG/JPEG I/O, sRGB <-> linear
     unblur/metrics.h  PSNR, SSIM (scikit-image compatible), shift-tolerant variants
     unblur/rng.h      explicit seeded random generators (xoshiro256**)
     unblur/synth.h    realistic blur synthesis: PSFs, convolution, shake, object
                       motion, defocus, sensor noise, camera response, JPEG, presets
     unblur/nn.h       RBNet: weights (safetensors, PyTorch names), inference
     unblur/train.h    training RBNet: run folders, the loop, checkpoints, MPI processes
     unblur/deconv.h   classical deconvolution: Wiener, Richardson-Lucy, sparse priors, blind
     unblur/eval.h     evaluation: benchmark sets, methods, scores, tables

   Conventions:
   - every public symbol starts with ub_ (types, functions) or UB_ (macros);
   - objects are created and destroyed in pairs (ub_X_create / ub_X_destroy),
     and destroy takes a pointer to the handle and sets it to NULL;
   - functions return ub_status (UB_OK = 0, errors negative); the message is
     read with ub_last_error(ctx). The library never prints or exits.
*/
#ifndef UNBLUR_H
#define UNBLUR_H

#include "unblur/core.h"
#include "unblur/image.h"
#include "unblur/metrics.h"
#include "unblur/rng.h"
#include "unblur/synth.h"
#include "unblur/nn.h"
#include "unblur/train.h"
#include "unblur/deconv.h"
#include "unblur/eval.h"

#endif
