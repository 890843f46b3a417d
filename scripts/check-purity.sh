#!/bin/sh
# check-purity.sh OBJ... — fail when a pure module reaches for the OS.
#
# Handlers must be functions of (memory, answer, shared refs): an object of a
# pure module (the apps) may not reference system calls, the clock, random
# numbers or stdio streams, and may not keep writable globals.
set -f        # the patterns below are not file names
status=0
FORBIDDEN_CALLS="
    read write pread pwrite readv writev open openat openat2 close socket
    bind listen accept accept4 connect send sendto sendmsg recv recvfrom
    recvmsg sendfile splice epoll_.* poll select ioctl fcntl mmap munmap
    fork exec.* kill signal sigaction time clock_gettime gettimeofday
    clock nanosleep sleep usleep rand random srand srandom rand_r drand48
    getrandom getpid getenv setenv printf fprintf puts fputs fwrite fread
    fopen fclose fflush perror syscall exit _exit abort stat fstat lstat
    fstatat opendir readdir io_uring_.*
"
FORBIDDEN="^($(echo $FORBIDDEN_CALLS | tr ' ' '|'))\$"
for obj in "$@"; do
    # The ELF symbol table, not nm's view: nm reads an LTO object's plugin table, which
    # leaves out calls gcc treats as builtins (printf, exit, abort, ...).
    bad=$(readelf -sW "$obj" | awk '$7 == "UND" && $8 != "" { print $8 }' | sed 's/@.*//' |
          grep -E "$FORBIDDEN")
    if [ -n "$bad" ]; then
        echo "check-purity: $obj references OS calls: $(echo $bad)" >&2
        status=1
    fi
    # Writable sections, thread-local ones too: .data.rel.ro is read-only once relocated.
    globals=$(objdump -t "$obj" | awk '{
        for (i = 2; i <= NF; i++)
            if ($i ~ /^\.t?(data|bss)/ && $i !~ /^\.data\.rel\.ro/) {
                if ($0 !~ / d / && ($0 ~ / O / || $i ~ /^\.t/))   # not section symbols; TLS has no O
                    print $NF
                break
            }
    }')
    if [ -n "$globals" ]; then
        echo "check-purity: $obj has writable globals: $(echo $globals)" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "check-purity: $# pure objects clean"
exit $status
