/* train/dist.c — the processes of a data-parallel training run (see dist.h). */
#include "train/dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#ifdef UB_HAVE_MPI
#include <mpi.h>
#endif

#ifdef UB_HAVE_MPI
typedef MPI_Request request;
#else
typedef int request;
#endif

struct ub__dist {
    ub_ctx *ctx; /* errors go here */
    int rank, size;
    int initialised; /* this handle called MPI_Init */
    char library[96];
    request *pending; /* the started sums (ub__dist_sum_start) */
    int npending, cap;
};

/* Started by mpirun / mpiexec / srun: the variables their launchers give each process. */
static int launched_by_mpi(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int ub__dist_local_processes(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        long n = v ? strtol(v, &end, 10) : 0;
        if (v && end != v && n >= 1 && n <= 1 << 20) return (int)n;
    }
    return 1;
}

ub_status ub__dist_open(ub_ctx *ctx, int *argc, char ***argv, ub__dist **out) {
    *out = NULL;
    ub__dist *d = calloc(1, sizeof *d);
    if (!d) return ub__fail(ctx, UB_ERR_NOMEM, "training: out of memory");
    d->ctx = ctx, d->size = 1;
    snprintf(d->library, sizeof d->library, "none");
    if (!launched_by_mpi()) {
        *out = d;
        return UB_OK;
    }
#ifdef UB_HAVE_MPI
    /* FUNNELED: only the main thread calls MPI; OpenMP and the data thread never do */
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        free(d);
        return ub__fail(ctx, UB_ERR_UNSUPPORTED, "training: MPI_Init failed");
    }
    d->initialised = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    version[strcspn(version, ",\n")] = '\0'; /* "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4" */
    snprintf(d->library, sizeof d->library, "%.*s", (int)sizeof d->library - 1, version);
    *out = d;
    return UB_OK;
#else
    (void)argc, (void)argv;
    free(d);
    return ub__fail(ctx, UB_ERR_UNSUPPORTED,
                    "training: started by an MPI launcher, but this unblur was built without MPI "
                    "(install libopenmpi-dev and rebuild)");
#endif
}

void ub__dist_close(ub__dist **pd) {
    if (!pd || !*pd) return;
#ifdef UB_HAVE_MPI
    if ((*pd)->npending > 0) MPI_Waitall((*pd)->npending, (*pd)->pending, MPI_STATUSES_IGNORE);
    if ((*pd)->initialised) MPI_Finalize();
#endif
    free((*pd)->pending);
    free(*pd);
    *pd = NULL;
}

int ub__dist_rank(const ub__dist *d) { return d ? d->rank : 0; }
int ub__dist_size(const ub__dist *d) { return d ? d->size : 1; }
const char *ub__dist_library(const ub__dist *d) { return d ? d->library : "none"; }

static int single(const ub__dist *d) { return !d || d->size <= 1; }

#ifdef UB_HAVE_MPI
/* MPI counts are ints: large arrays go in pieces of at most this many elements. */
#define PIECE ((size_t)1 << 28)

static ub_status mpi_fail(ub_ctx *ctx, const char *what, int code) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", code);
    return ub__fail(ctx, UB_ERR_IO, "training: %s failed: %s", what, text);
}
#endif

ub_status ub__dist_sum_floats(ub__dist *d, float *x, size_t n) {
    if (single(d)) return UB_OK;
#ifdef UB_HAVE_MPI
    for (size_t i = 0; i < n; i += PIECE) {
        int count = (int)(n - i < PIECE ? n - i : PIECE);
        int rc = MPI_Allreduce(MPI_IN_PLACE, x + i, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(d->ctx, "MPI_Allreduce", rc);
    }
#else
    (void)x, (void)n;
#endif
    return UB_OK;
}

ub_status ub__dist_sum_start(ub__dist *d, float *x, size_t n) {
    if (single(d)) return UB_OK;
#ifdef UB_HAVE_MPI
    for (size_t i = 0; i < n; i += PIECE) {
        if (d->npending == d->cap) {
            int cap = d->cap ? 2 * d->cap : 16;
            request *grown = realloc(d->pending, (size_t)cap * sizeof *grown);
            if (!grown) return ub__fail(d->ctx, UB_ERR_NOMEM, "training: out of memory");
            d->pending = grown, d->cap = cap;
        }
        int count = (int)(n - i < PIECE ? n - i : PIECE);
        int rc = MPI_Iallreduce(MPI_IN_PLACE, x + i, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                                &d->pending[d->npending]);
        if (rc != MPI_SUCCESS) return mpi_fail(d->ctx, "MPI_Iallreduce", rc);
        d->npending++;
    }
#else
    (void)x, (void)n;
#endif
    return UB_OK;
}

ub_status ub__dist_progress(ub__dist *d) {
    if (single(d) || d->npending == 0) return UB_OK;
#ifdef UB_HAVE_MPI
    int done = 0;
    int rc = MPI_Testall(d->npending, d->pending, &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_fail(d->ctx, "MPI_Testall", rc);
    if (done) d->npending = 0;
#endif
    return UB_OK;
}

ub_status ub__dist_sum_wait(ub__dist *d) {
    if (single(d) || d->npending == 0) return UB_OK;
#ifdef UB_HAVE_MPI
    int rc = MPI_Waitall(d->npending, d->pending, MPI_STATUSES_IGNORE);
    d->npending = 0;
    if (rc != MPI_SUCCESS) return mpi_fail(d->ctx, "MPI_Waitall", rc);
#endif
    return UB_OK;
}

ub_status ub__dist_broadcast(ub__dist *d, void *buf, size_t n) {
    if (single(d)) return UB_OK;
#ifdef UB_HAVE_MPI
    for (size_t i = 0; i < n; i += PIECE) {
        int count = (int)(n - i < PIECE ? n - i : PIECE);
        int rc = MPI_Bcast((char *)buf + i, count, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(d->ctx, "MPI_Bcast", rc);
    }
#else
    (void)buf, (void)n;
#endif
    return UB_OK;
}

ub_status ub__dist_agree(ub__dist *d, ub_ctx *ctx, ub_status own) {
    if (single(d)) return own;
#ifdef UB_HAVE_MPI
    /* the lowest failing rank, and its status */
    int mine[2] = {own != UB_OK ? d->rank : d->size, 0}, first[2];
    int rc = MPI_Allreduce(mine, first, 1, MPI_2INT, MPI_MINLOC, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(ctx, "MPI_Allreduce", rc);
    if (first[0] == d->size) return UB_OK;
    int status = (int)own;
    rc = MPI_Bcast(&status, 1, MPI_INT, first[0], MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(ctx, "MPI_Bcast", rc);
    if (own != UB_OK) return own;
    return ub__fail(ctx, (ub_status)status, "training: process %d of %d failed (its own message says why)", first[0],
                    d->size);
#else
    (void)ctx;
    return own;
#endif
}

ub_status ub__dist_min_max(ub__dist *d, unsigned long long value, unsigned long long *min, unsigned long long *max) {
    *min = *max = value;
    if (single(d)) return UB_OK;
#ifdef UB_HAVE_MPI
    int rc = MPI_Allreduce(&value, min, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS) rc = MPI_Allreduce(&value, max, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(d->ctx, "MPI_Allreduce", rc);
#endif
    return UB_OK;
}
