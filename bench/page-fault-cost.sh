#!/usr/bin/env bash
# What first touching fresh anonymous memory costs on this machine, in 4 KiB pages and with MADV_HUGEPAGE (the advice
# t2n gives its prefetch buffers and the start of its heap; src/Core/IO/HugePageAdvice.cs). Builds a small C program
# with gcc (a measuring tool only, nothing of it is in t2n) and runs each case ROUNDS times.
#
# Usage: bench/page-fault-cost.sh [MIB] [ROUNDS]     (default 16 MiB, 3 rounds)
set -euo pipefail
mib=${1:-16}; rounds=${2:-3}
command -v gcc >/dev/null || { echo "needs gcc" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/t2n-faults-XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/touch.c" <<'C'
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
static double cpu(void) { struct rusage u; getrusage(RUSAGE_SELF, &u); return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6; }
static long faults(void) { struct rusage u; getrusage(RUSAGE_SELF, &u); return u.ru_minflt; }
int main(int argc, char **argv) {
  int huge = atoi(argv[1]); size_t size = (size_t)atoi(argv[2]) << 20, page = 2u << 20;
  char *raw = mmap(0, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *p = (char *)(((uintptr_t)raw + page - 1) & ~(uintptr_t)(page - 1));
  if (huge && madvise(p, size, MADV_HUGEPAGE) != 0) { perror("madvise"); return 1; }
  double c0 = cpu(); long f0 = faults();
  for (size_t i = 0; i < size; i += 4096) p[i] = 1;
  double c = cpu() - c0; long f = faults() - f0;
  printf("%-10s %zu MiB: %6.1f ms CPU, %6ld faults, %5.2f us per fault\n", huge ? "hugepage" : "4k pages", size >> 20, c * 1e3, f, f ? c * 1e6 / f : 0);
  return 0;
}
C
gcc -O2 -o "$work/touch" "$work/touch.c"
echo "transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
for r in $(seq "$rounds"); do
  "$work/touch" 0 "$mib"
  "$work/touch" 1 "$mib"
done
