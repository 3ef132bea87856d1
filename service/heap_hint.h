/* heap_hint.h — how glibc's heap is set up for the server: large short-lived blocks kept on
 * the heap, and the heap on transparent huge pages.
 *
 * DESIGN: every commit gives a layer a new snapshot whose arrays (feature pointers, ids)
 * are as long as the layer, and frees the previous snapshot's soon after. Past 128 KB glibc
 * serves a block with a fresh mmap and unmaps it on free; its threshold rises only to the
 * size of a freed mapping, and these arrays grow with every create, so each new one was
 * mapped afresh and faulted in page by page. After a restart on a 60,000-feature layer that
 * was 44 to 61 page faults per create and 710-870 creates/s from one client, against 1 fault
 * and 1,400/s with the blocks kept on the heap (perf stat; bench/README.md). The cost is
 * memory the heap keeps instead of returning it at once. */
#ifndef CM_HEAP_HINT_H
#define CM_HEAP_HINT_H

/* Call once, before the threads start: blocks up to 32 MB come from the heap, and up to
 * 64 MB of free space at a heap's top stays mapped for the next allocation. */
void cm_heap_keep_large_blocks(void);

/* Backs the heap with transparent huge pages: a layer of 290,000 features is ~500 MB of
 * small blocks, and on the test VM an idle server of that size answered a feature by id
 * with a p99 of 0.8-10 ms against 0.22-0.41 ms with huge pages (the same p99 jump came with
 * 500 MB of untouched ballast in a small server, so it is the number of 4 KB pages, not our
 * code; bench/README.md). glibc reads that setting (GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
 * only at process start, so this re-executes the program with it, keeping pid, argv and
 * open files. It returns without doing so when GLIBC_TUNABLES already names
 * glibc.malloc.hugetlb (set it to 0 to opt out), under valgrind (an exec would leave it),
 * when the kernel's transparent huge pages are off, or when the exec fails. argv: main's. */
void cm_heap_use_huge_pages(char **argv);

#endif
