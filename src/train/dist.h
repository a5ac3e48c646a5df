/* train/dist.h — the processes of a data-parallel training run, over MPI.

   `mpirun -np P unblur train ...` starts P processes (ranks) of the same program, on one machine or
   on the machines of a hostfile. Each rank makes its share of every step's batch, runs the network on
   it and computes gradients; one MPI_Allreduce per step sums the gradients (with the loss and a few
   flags riding in the same buffer) so that every rank applies the same update and the weights stay
   identical everywhere. Only rank 0 writes files. See train/train.h for how the run uses it.

   A process that was not started by an MPI launcher is a run of one: ub__dist_open does not touch
   MPI at all then (no MPI_Init, so `unblur train` without mpirun starts as fast as before and needs
   no MPI runtime), and every function below is a no-op for a NULL or single-process handle. The
   launcher is recognised by the variables it sets for its children: OMPI_COMM_WORLD_SIZE (Open MPI),
   PMI_SIZE (MPICH, Slurm), PMIX_RANK (PMIx).

   Builds without MPI (CMake found none) compile the same API; ub__dist_open then refuses a launch by
   mpirun with a message instead of running P unrelated copies.

   The handle holds MPI's communicator; MPI itself keeps process-wide state, initialised once by
   ub__dist_open and finalised by ub__dist_close: open one handle per process, from the main thread. */
#ifndef UB_TRAIN_DIST_H
#define UB_TRAIN_DIST_H

#include <stddef.h>

#include "unblur/core.h"

typedef struct ub__dist ub__dist;

/* Joins the MPI job when started by a launcher (see above): *out is the handle (never NULL on
   success; a run of one when not launched). argc/argv: main's, for MPI_Init (may be NULL). Errors of
   the calls below are reported in ctx, which must outlive the handle. */
ub_status ub__dist_open(ub_ctx *ctx, int *argc, char ***argv, ub__dist **out);
/* MPI_Finalize when ub__dist_open initialised MPI. */
void ub__dist_close(ub__dist **d);

/* Processes of the job on this machine, from the launcher's variables (1 when not launched): with
   no --threads, each process takes its share of the cores. No MPI call: usable before ub__dist_open. */
int ub__dist_local_processes(void);

int ub__dist_rank(const ub__dist *d); /* 0 .. size - 1; 0 for NULL */
int ub__dist_size(const ub__dist *d); /* 1 for NULL */
/* "Open MPI 4.1.4" style name of the library the program runs on, or "none". */
const char *ub__dist_library(const ub__dist *d);

/* In place, on every rank: x[i] = the sum over ranks of x[i]. n may exceed INT_MAX (sent in pieces).
   Every rank must call it with the same n. The result is the same on every rank. */
ub_status ub__dist_sum_floats(ub__dist *d, float *x, size_t n);
/* The same sum without waiting: x[0 .. n) is summed in place while the caller goes on; x must not be
   touched until ub__dist_sum_wait returns. Sums are started in the same order on every rank (MPI matches
   them by order). ub__dist_progress lets MPI advance them (Open MPI moves a non-blocking collective only
   inside MPI calls: call it now and then during the work they overlap); ub__dist_sum_wait completes all
   started sums. With P = 2 the result is the same bits as ub__dist_sum_floats (a + b in either order). */
ub_status ub__dist_sum_start(ub__dist *d, float *x, size_t n);
ub_status ub__dist_progress(ub__dist *d);
ub_status ub__dist_sum_wait(ub__dist *d);
/* Rank 0's bytes into every rank's buf (n bytes, the same n everywhere). */
ub_status ub__dist_broadcast(ub__dist *d, void *buf, size_t n);
/* Agreement on a status: every rank passes its own; all get UB_OK when all had UB_OK, otherwise the
   failing lowest rank's status. A rank that was fine gets a message in ctx naming that rank (its own
   message stays in the failing rank's context). Collective. */
ub_status ub__dist_agree(ub__dist *d, ub_ctx *ctx, ub_status own);
/* On every rank: the minimum and maximum of one 64-bit value (e.g. a hash of the weights). */
ub_status ub__dist_min_max(ub__dist *d, unsigned long long value, unsigned long long *min, unsigned long long *max);

#endif
