/* core/fileio.c — atomic output files, and the folders they go in.

   Outputs are written to "<dir>/.unblur-XXXXXX" (mkstemp, same folder, so
   the final rename(2) is atomic on one file system) and renamed over the
   target only after a successful flush and close. A failure at any point
   removes the temporary file: the target is either the old file or the whole
   new one, never a partial one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

static char *dup_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static ub_status check_target(ub_ctx *ctx, const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return ub__fail(ctx, UB_ERR_IO, "%s: is a directory", path);
    return UB_OK;
}

ub_status ub__outfile_open(ub_ctx *ctx, ub__outfile *of, const char *path) {
    memset(of, 0, sizeof *of);
    if (!path || !*path) return ub__fail(ctx, UB_ERR_INVALID, "empty output file name");
    ub_status st = check_target(ctx, path);
    if (st) return st;

    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path + 1) : 0;
    const char *base = path + dir_len;
    if (!*base) return ub__fail(ctx, UB_ERR_INVALID, "%s: names a folder, not a file", path);
    size_t n = dir_len + sizeof(".unblur-XXXXXX") + 1;
    char *tmp = malloc(n);
    of->final_path = dup_string(path);
    if (!tmp || !of->final_path) {
        free(tmp);
        free(of->final_path);
        of->final_path = NULL;
        return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    }
    /* not derived from the name: a 250-character name must not give a temporary name over 255 */
    snprintf(tmp, n, "%.*s.unblur-XXXXXX", (int)dir_len, path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        free(of->final_path);
        of->final_path = NULL;
        return ub__fail(ctx, UB_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    /* mkstemp makes the file 0600; give it the usual permissions of a new file. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    of->tmp_path = tmp;
    of->fp = fdopen(fd, "wb");
    if (!of->fp) {
        int e = errno;
        close(fd);
        ub__outfile_abort(of);
        return ub__fail(ctx, UB_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    return UB_OK;
}

void ub__outfile_abort(ub__outfile *of) {
    if (of->fp) fclose(of->fp);
    if (of->tmp_path) unlink(of->tmp_path);
    free(of->tmp_path);
    free(of->final_path);
    memset(of, 0, sizeof *of);
}

ub_status ub__outfile_commit(ub_ctx *ctx, ub__outfile *of) {
    const char *path = of->final_path;
    int failed = ferror(of->fp) != 0;
    int e = failed ? EIO : 0;
    if (fflush(of->fp) != 0 && !failed) failed = 1, e = errno;
    /* No fsync: the rename guards against partial files from a failed or killed
       process; durability across power loss is not worth a disk flush per
       image when a batch writes thousands of them. */
    if (fclose(of->fp) != 0 && !failed) failed = 1, e = errno;
    of->fp = NULL;
    if (!failed && rename(of->tmp_path, path) != 0) failed = 1, e = errno;
    ub_status st = UB_OK;
    if (failed) st = ub__fail(ctx, UB_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    else {
        free(of->tmp_path); /* renamed: nothing left to remove */
        of->tmp_path = NULL;
    }
    ub__outfile_abort(of);
    return st;
}

ub_status ub__write_file_atomic(ub_ctx *ctx, const char *path, const void *bytes, size_t size) {
    ub__outfile of;
    ub_status st = ub__outfile_open(ctx, &of, path);
    if (st) return st;
    if (size && fwrite(bytes, 1, size, of.fp) != size) {
        int e = errno;
        ub__outfile_abort(&of);
        return ub__fail(ctx, UB_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return ub__outfile_commit(ctx, &of);
}

ub_status ub_write_file_atomic(ub_ctx *ctx, const char *path, const void *bytes, size_t size) {
    if (!path || (!bytes && size)) return ub__fail(ctx, UB_ERR_INVALID, "ub_write_file_atomic: NULL argument");
    return ub__write_file_atomic(ctx, path, bytes, size);
}

ub_status ub__make_folders(ub_ctx *ctx, const char *path) {
    char *buf = dup_string(path);
    if (!buf) return ub__fail(ctx, UB_ERR_NOMEM, "%s: out of memory", path);
    ub_status st = UB_OK;
    for (char *p = buf + 1; st == UB_OK; p++) { /* each prefix that ends a component, then the whole path */
        const char saved = *p;
        if (saved != '/' && saved != '\0') continue;
        *p = '\0';
        struct stat sb;
        if (mkdir(buf, 0777) != 0 && !(errno == EEXIST && stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode)))
            st = ub__fail(ctx, UB_ERR_IO, "%s: cannot create the folder: %s", buf,
                          errno == EEXIST ? "a file of that name exists" : strerror(errno));
        *p = saved;
        if (!saved) break;
    }
    free(buf);
    return st;
}
