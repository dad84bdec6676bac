/* file.c: the engine's file access: the atomic write every save uses (temporary file, fsync,
 * rename; only regular files are replaced; a killed write's temporaries removed later) and the whole-file read every loader uses (regular
 * files only, bounded by their size). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* What kind of file st is, for messages. */
static const char *kind_of(const struct stat *st) {
  if (S_ISDIR(st->st_mode)) return "a folder";
  if (S_ISCHR(st->st_mode)) return "a character device";
  if (S_ISBLK(st->st_mode)) return "a block device";
  if (S_ISFIFO(st->st_mode)) return "a pipe";
  if (S_ISSOCK(st->st_mode)) return "a socket";
  return "not a regular file";
}

mx_status mx_file_check_regular(const char *path, const char *where) {
  struct stat st;
  if (!path || !*path) return mx_error_at(MX_ERR_ARG, where, "no file name given");
  if (stat(path, &st) != 0) return mx_error_at(MX_ERR_IO, where, "cannot open '%s' (%s)", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return mx_error_at(MX_ERR_IO, where, "'%s' is %s, not a regular file", path, kind_of(&st));
  return MX_OK;
}

mx_status mx_file_read_all(const char *path, const char *where, char **data, size_t *len) {
  *data = NULL, *len = 0;
  if (!path || !*path) return mx_error_at(MX_ERR_ARG, where, "no file name given");
  /* O_NONBLOCK: opening a pipe with no writer must not block before fstat can refuse it */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return mx_error_at(MX_ERR_IO, where, "cannot open '%s' (%s)", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    mx_status e = mx_error_at(MX_ERR_IO, where, "cannot read '%s' (%s)", path, strerror(errno));
    close(fd);
    return e;
  }
  if (!S_ISREG(st.st_mode)) {
    mx_status e = mx_error_at(MX_ERR_IO, where, "'%s' is %s, not a regular file", path, kind_of(&st));
    close(fd);
    return e;
  }
  size_t size = (size_t)st.st_size;
  char *buf = malloc(size + 1);
  if (!buf) {
    close(fd);
    return mx_error_at(MX_ERR_NOMEM, where, "out of memory reading '%s' (%zu bytes)", path, size);
  }
  size_t got = 0;
  while (got < size) { /* never more than the size: a file that grows meanwhile is cut there */
    ssize_t r = read(fd, buf + got, size - got > (1u << 30) ? (1u << 30) : size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  int err = got < size ? errno : 0;
  close(fd);
  if (got < size && err) {
    free(buf);
    return mx_error_at(MX_ERR_IO, where, "cannot read '%s' (%s)", path, strerror(err));
  }
  buf[got] = 0;
  *data = buf, *len = got;
  return MX_OK;
}

/* A write killed between its temporary file and the rename leaves PATH.tmp.PID.XXXXXX (or, from
 * before the pid was in the name, PATH.tmp.XXXXXX). The next write of PATH removes those it can
 * prove stale: of a process that no longer runs, or older than an hour (no write takes that
 * long; a reused pid cannot keep a file forever). Other names, and live writers' files, stay. */
#define STALE_TEMP_SECONDS 3600

static int stale_temp(const char *dir, const char *name, size_t base_len) {
  const char *rest = name + base_len + 5; /* after "BASE.tmp." */
  char *end;
  long pid = strtol(rest, &end, 10);
  int with_pid = end != rest && *end == '.' && strlen(end + 1) == 6;
  if (!with_pid && strlen(rest) != 6) return 0; /* not a name mx_file_write_atomic makes */
  if (with_pid && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 1;
  char full[4096];
  struct stat st;
  if (snprintf(full, sizeof full, "%s/%s", dir, name) >= (int)sizeof full || lstat(full, &st) != 0) return 0;
  return S_ISREG(st.st_mode) && time(NULL) - st.st_mtime > STALE_TEMP_SECONDS;
}

static void remove_stale_temps(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  char dir[4096];
  if (!slash)
    strcpy(dir, ".");
  else if (slash == path)
    strcpy(dir, "/");
  else if ((size_t)(slash - path) < sizeof dir)
    memcpy(dir, path, (size_t)(slash - path)), dir[slash - path] = '\0';
  else
    return;
  size_t blen = strlen(base);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, base, blen) != 0 || strncmp(e->d_name + blen, ".tmp.", 5) != 0) continue;
    if (!stale_temp(dir, e->d_name, blen)) continue;
    char full[4096];
    if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) < (int)sizeof full) unlink(full);
  }
  closedir(d);
}

/* The file a save replaces: path itself, or a symbolic link's final target (malloc'd into
 * *target). Refuses what is not a regular file, and a link to nothing. */
static mx_status save_target(const char *path, char **target) {
  *target = NULL;
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return MX_OK; /* a new file */
    return mx_error_at(MX_ERR_IO, "mx_file_write_atomic", "cannot write %s (%s)", path, strerror(errno));
  }
  if (S_ISLNK(st.st_mode)) {
    *target = realpath(path, NULL);
    if (!*target || stat(*target, &st) != 0)
      return free(*target), *target = NULL,
             mx_error_at(MX_ERR_IO, "mx_file_write_atomic", "cannot write %s: a symbolic link to nothing", path);
  }
  if (!S_ISREG(st.st_mode)) {
    mx_status e = mx_error_at(MX_ERR_IO, "mx_file_write_atomic", "refusing to replace %s: it is %s, not a regular file",
                           path, kind_of(&st));
    free(*target);
    *target = NULL;
    return e;
  }
  return MX_OK;
}

mx_status mx_file_write_atomic(const char *path, const void *data, size_t len) {
  if (!path || !*path) return mx_error_at(MX_ERR_ARG, "mx_file_write_atomic", "no file name given");
  char *target;
  mx_status st0 = save_target(path, &target);
  if (st0 != MX_OK) return st0;
  const char *dest = target ? target : path;
  remove_stale_temps(dest);
  size_t plen = strlen(dest);
  char *tmp = malloc(plen + 40);
  if (!tmp) return free(target), mx_error_at(MX_ERR_NOMEM, "mx_file_write_atomic", "out of memory");
  /* DEST.tmp.PID.XXXXXX: the pid tells a later write whether its writer still runs */
  snprintf(tmp, plen + 40, "%s.tmp.%ld.XXXXXX", dest, (long)getpid());
  int fd = mkstemp(tmp);
  if (fd < 0) {
    mx_status st = mx_error_at(
        MX_ERR_IO, "mx_file_write_atomic", "cannot write %s: no temporary file beside it (%s)", path,
        strerror(errno));
    free(tmp);
    free(target);
    return st;
  }
  const char *p = data;
  size_t left = len;
  int ok = 1;
  while (ok && left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      ok = 0;
    else
      p += w, left -= (size_t)w;
  }
  mode_t mask = umask(0);
  umask(mask);
  if (ok && fchmod(fd, 0666 & ~mask) != 0) ok = 0;
  if (ok && fsync(fd) != 0) ok = 0;
  int err = errno;
  if (close(fd) != 0 && ok) ok = 0, err = errno;
  if (ok && rename(tmp, dest) != 0) ok = 0, err = errno;
  free(target);
  if (!ok) {
    unlink(tmp);
    free(tmp);
    return mx_error_at(MX_ERR_IO, "mx_file_write_atomic", "cannot write %s (%s)", path, strerror(err));
  }
  free(tmp);
  return MX_OK;
}
