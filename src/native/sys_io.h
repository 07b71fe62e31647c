/* The relay's two per-message system calls, made without libc's cancellation wrappers.
 *
 * glibc's read(2) and send(2) are pthread cancellation points: in a multi-threaded process (Node always
 * is) each call is bracketed by an atomic enable/disable of asynchronous cancellation. wspass never
 * cancels a thread, so that work is pure cost on the hottest path there is: perf put the wrappers at
 * 1.5 % of the CPU per echoed 64 B message (native-notes/native-tunnel-engine.md, "Where a message's CPU
 * goes"). syscall(2) is not a cancellation point and keeps libc's errno convention (-1 and errno), so
 * callers read the results exactly as they read read() and send(). */
#ifndef WSPASS_SYS_IO_H
#define WSPASS_SYS_IO_H

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline ssize_t io_read(int fd, void *buf, size_t len) {
  return (ssize_t)syscall(SYS_read, fd, buf, len);
}

/* send(2) is sendto(2) without an address on Linux. */
static inline ssize_t io_send(int fd, const void *buf, size_t len, int flags) {
  return (ssize_t)syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

#endif
