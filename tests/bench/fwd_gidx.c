/* tests/bench/fwd_traffic.sh: prints the indices of canary-bpf's forwarding
 * counters (CB_G_FWD_REDIRECT, CB_G_FWD_STACK), from its own header; built
 * at run time with -I include. */
#include <stdio.h>
#include "canary_bpf.h"
int main(void) { printf("%d %d\n", CB_G_FWD_REDIRECT, CB_G_FWD_STACK); return 0; }
