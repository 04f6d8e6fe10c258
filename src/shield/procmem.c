/* SPDX-License-Identifier: Apache-2.0 */
/* process_vm_readv/writev, page by page so a string that ends just before an unmapped page is read. */
#include "procmem.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHUNK 4096u

int veil_shield_read_string(pid_t pid, uint64_t addr, char *buf, size_t size) {
    if (addr == 0) return -EFAULT;
    size_t done = 0;
    while (done < size) {
        /* never cross a page boundary in one read: the next page may be unmapped */
        uint64_t at = addr + done;
        size_t want = CHUNK - (size_t)(at % CHUNK);
        if (want > size - done) want = size - done;
        struct iovec local = { buf + done, want };
        struct iovec remote = { (void *)(uintptr_t)at, want };
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0) return n < 0 ? -errno : -EFAULT;
        char *nul = memchr(buf + done, 0, (size_t)n);
        if (nul) return 0;
        done += (size_t)n;
    }
    return -ENAMETOOLONG;
}

int veil_shield_read_mem(pid_t pid, uint64_t addr, void *data, size_t size) {
    struct iovec local = { data, size };
    struct iovec remote = { (void *)(uintptr_t)addr, size };
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0) return -errno;
    return (size_t)n == size ? 0 : -EFAULT;
}

int veil_shield_write_mem(pid_t pid, uint64_t addr, const void *data, size_t size) {
    struct iovec local = { (void *)data, size };
    struct iovec remote = { (void *)(uintptr_t)addr, size };
    ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    if (n < 0) return -errno;
    return (size_t)n == size ? 0 : -EFAULT;
}
