#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

int open_readonly(const char *path)
{
#ifdef _WIN32
    /* (Bytes as they are, and not inherited by child processes.) */
    return open(path, O_RDONLY | O_BINARY | O_NOINHERIT);
#else
    return open(path, O_RDONLY | O_CLOEXEC);
#endif
}

int is_directory(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

void errno_set(int value)
{
    errno = value;
}
